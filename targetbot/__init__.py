"""targetbot: LLM-agent assisted user targeting.

The installed package is one namespace. This folder holds the command line (`cli.py`,
`commands/`); the subsystems live in the repository's top-level folders and install under it:
`targetbot.core` (core/), `targetbot.towers`, `targetbot.egl`, `targetbot.rewrite`,
`targetbot.agent`, `targetbot.eval`, and the prompt files as `targetbot.prompts`.
"""

__version__ = "0.1.0"
