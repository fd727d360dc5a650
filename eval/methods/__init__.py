"""Built-in evaluation methods; importing this module registers them."""

from eval.methods import keyword, random_baseline, supervised  # noqa: F401
