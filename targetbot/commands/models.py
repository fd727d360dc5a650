"""`targetbot models` (being written)."""


def models() -> None:
    """List the bundled models."""
    raise SystemExit("not yet available")
