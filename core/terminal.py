"""Text that is safe to print on a terminal: control characters (escape sequences that move the
cursor, retitle the window or hide text) shown as visible escapes, never sent raw."""

from __future__ import annotations

import re

_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text) -> str:
    r"""`text` with control characters other than tab and newline written as \xNN.

    >>> printable("ok\x1b[2J")
    'ok\\x1b[2J'
    """
    return _CTRL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def for_console(text) -> str:
    """User or data text inside a rich console line: printable, and rich markup escaped, so
    "[bold]" in a request prints as written instead of styling the output."""
    from rich.markup import escape

    return escape(printable(text))
