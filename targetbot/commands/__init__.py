"""CLI command groups, one module each; `targetbot.cli` assembles them into one app."""
