"""`targetbot build` (being written)."""


def build() -> None:
    """Run the offline build stages."""
    raise SystemExit("not yet available")
