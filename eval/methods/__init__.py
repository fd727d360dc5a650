"""Built-in evaluation methods; importing this module registers them."""

from targetbot.eval.methods import fewshot, find, keyword, probe, random_baseline, supervised  # noqa: F401
from targetbot.eval.methods import graph  # noqa: F401,E402  (EGL zero-shot targeting)
from targetbot.eval.methods import ask  # noqa: F401,E402  (the targeting agent end to end)
