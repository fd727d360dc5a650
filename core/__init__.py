"""The core: the data contract, the workspace, scenarios and their label rules, the world
simulator, adapters for real public data, settings, the bundled model files, atomic IO and the
one error family.

It is the bottom of the house: it imports no other targetbot package and knows no trained model,
so every subsystem above (towers/, egl/, rewrite/, then agent/ and eval/, then the CLI) can rely
on it without pulling in model code.
"""
