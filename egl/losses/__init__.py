"""ALPC's three training signals, one per module: link BCE, the adaptive per-source threshold
loss (EGL Eq. 3) and InfoNCE with semantic positives (EGL Eq. 4)."""

from targetbot.egl.losses.bce import link_bce
from targetbot.egl.losses.infonce import semantic_infonce
from targetbot.egl.losses.threshold import adaptive_threshold_loss

__all__ = ["link_bce", "adaptive_threshold_loss", "semantic_infonce"]
