"""Chat messages for a rewrite: the system prompt (from prompts/) and the request as data.

A request is user text: control characters are dropped, chat-template markers are broken up so
the tokenizer never turns them into special tokens, and length is capped. The model then sees it
only as the user turn; instructions inside it have no channel to act through.
"""

from __future__ import annotations

import re

from targetbot.rewrite.config import read_prompt

MAX_REQUEST_CHARS = 600
MAX_MATCHES, MAX_NEGATED = 8, 4  # retrieved entities shown to the model (the prompt stays short)
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PROMPTS = {"tuned": "rewrite_system.txt", "full": "rewrite_system_full.txt"}


def sanitize_request(text: str) -> str:
    text = _CTRL.sub(" ", str(text))
    text = text.replace("<|", "< |").replace("|>", "| >")
    text = re.sub(r"\s+", " ", text).strip()
    return text[:MAX_REQUEST_CHARS]


def system_prompt(kind: str = "tuned") -> str:
    return read_prompt(PROMPTS.get(kind, kind))


def candidate_note(matches: list[str] = (), negated: list[str] = ()) -> str:
    """The retrieved catalog entities, as the model sees them after the request (rewrite.retrieval):
    what the request can mean, and what its negated clauses name. Empty when nothing was retrieved."""
    lines = []
    if matches:
        lines.append("Catalog matches: " + "; ".join(sanitize_request(m) for m in matches[:MAX_MATCHES]))
    if negated:
        lines.append("Named in negated clauses: " + "; ".join(sanitize_request(m) for m in negated[:MAX_NEGATED]))
    return "\n".join(lines)


def user_turn(request: str, matches: list[str] = (), negated: list[str] = ()) -> str:
    note = candidate_note(matches, negated)
    text = sanitize_request(request)
    return f"{text}\n\n{note}" if note else text


def build_messages(request: str, kind: str = "tuned", matches: list[str] = (), negated: list[str] = ()) -> list[dict]:
    return [{"role": "system", "content": system_prompt(kind)},
            {"role": "user", "content": user_turn(request, matches, negated)}]
