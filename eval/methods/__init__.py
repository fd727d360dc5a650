"""Built-in evaluation methods; importing this module registers them."""

from eval.methods import fewshot, find, keyword, probe, random_baseline, supervised  # noqa: F401
from eval.methods import graph  # noqa: F401,E402  (EGL zero-shot targeting)
from eval.methods import ask  # noqa: F401,E402  (the targeting agent end to end)
