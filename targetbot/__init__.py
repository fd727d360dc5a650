"""targetbot core: configuration, data contract, workspace, world simulator, adapters, bundled models.

The core knows no model architecture; towers/, egl/, rewrite/ build on it and agent/ joins them.
"""

__version__ = "0.1.0"
