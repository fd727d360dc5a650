"""Training losses, one per file, each usable and testable on its own."""

from targetbot.towers.losses.cpc import CPCLoss
from targetbot.towers.losses.cyclic_kl import cyclic_kl
from targetbot.towers.losses.forecast import ForecastLoss
from targetbot.towers.losses.infonce import InfoNCELoss, NegativeQueue
from targetbot.towers.losses.reconstruction import ModalityReconstructionLoss
from targetbot.towers.losses.tabular import MaskedFeatureLoss, ReplacedTokenLoss
from targetbot.towers.losses.triplet import prompt_triplet_loss

__all__ = ["CPCLoss", "ForecastLoss", "InfoNCELoss", "MaskedFeatureLoss", "ModalityReconstructionLoss", "NegativeQueue",
           "ReplacedTokenLoss", "cyclic_kl", "prompt_triplet_loss"]
