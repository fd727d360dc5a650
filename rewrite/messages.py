"""Chat messages for a rewrite: the system prompt (from prompts/) and the request as data.

A request is user text: control characters are dropped, chat-template markers are broken up so
the tokenizer never turns them into special tokens, and length is capped. The model then sees it
only as the user turn; instructions inside it have no channel to act through.
"""

from __future__ import annotations

import re

from targetbot.rewrite.config import read_prompt

MAX_REQUEST_CHARS = 600
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PROMPTS = {"tuned": "rewrite_system.txt", "full": "rewrite_system_full.txt"}


def sanitize_request(text: str) -> str:
    text = _CTRL.sub(" ", str(text))
    text = text.replace("<|", "< |").replace("|>", "| >")
    text = re.sub(r"\s+", " ", text).strip()
    return text[:MAX_REQUEST_CHARS]


def system_prompt(kind: str = "tuned") -> str:
    return read_prompt(PROMPTS.get(kind, kind))


def build_messages(request: str, kind: str = "tuned") -> list[dict]:
    return [{"role": "system", "content": system_prompt(kind)},
            {"role": "user", "content": sanitize_request(request)}]
