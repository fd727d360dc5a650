"""The models of one process, built once at the top and passed down.

A CLI command, a benchmark or a test makes one `Models` from its `Settings`; everything below
receives what it needs from it (an encoder, an `encode` function, a rewriter factory) rather than
loading its own. Each model loads on first use and is kept, so a chat, a batch or an evaluation
pays each load once. Tests replace a model by passing it to the constructor:

    >>> from targetbot.core.config import Settings
    >>> models = Models(Settings(), text_encoder=object())   # no MiniLM is loaded
    >>> models.text_encoder() is models.text_encoder()
    True
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from targetbot.core.config import Settings

RewriterFactory = Callable[..., object]  # (resources, url=None, model=None, protocol="json") -> a Rewriter


class Models:
    def __init__(self, settings: Settings, *, text_encoder=None, rewriter: RewriterFactory | None = None):
        self.settings = settings
        self._text_encoder = text_encoder
        self._rewriter = rewriter

    def text_encoder(self):
        """The sentence encoder (`settings.text_encoder`, MiniLM by default)."""
        if self._text_encoder is None:
            from targetbot.towers.text_encoder import load_text_encoder

            self._text_encoder = load_text_encoder(self.settings)
        return self._text_encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-norm sentence vectors; loads the encoder on first call only."""
        return self.text_encoder().encode(texts)

    def rewriter(self, res, url: str | None = None, model: str | None = None, protocol: str = "json"):
        """The request -> plan rewriter for a workspace's resources (agent/planner.py's default:
        the in-process engine with the workspace's adapter, or a served model at `url`), answering
        with one JSON plan or with tool calls (`protocol`, see rewrite/client.py)."""
        if self._rewriter is not None:
            return self._rewriter(res, url=url, model=model, protocol=protocol)
        from targetbot.agent.planner import default_rewriter

        return default_rewriter(res, url, model, protocol)
