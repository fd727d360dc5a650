"""Training losses, one per file, each usable and testable on its own."""

from towers.losses.cpc import CPCLoss
from towers.losses.cyclic_kl import cyclic_kl
from towers.losses.forecast import ForecastLoss
from towers.losses.infonce import InfoNCELoss, NegativeQueue
from towers.losses.reconstruction import ModalityReconstructionLoss
from towers.losses.tabular import MaskedFeatureLoss, ReplacedTokenLoss
from towers.losses.triplet import prompt_triplet_loss

__all__ = ["CPCLoss", "ForecastLoss", "InfoNCELoss", "MaskedFeatureLoss", "ModalityReconstructionLoss", "NegativeQueue",
           "ReplacedTokenLoss", "cyclic_kl", "prompt_triplet_loss"]
