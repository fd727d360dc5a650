"""Prompt and dialogue templates, as files (installed as package data of `targetbot.prompts`)."""
