"""sk-dae: a scikit-learn compatible denoising autoencoder on PyTorch."""

from ._autoencoder import DenoisingAutoencoder
from ._core.checkpoint import Checkpoint
from ._core.network import Autoencoder
from ._imputer import DAEImputer
from ._outliers import DAEOutlierDetector
from ._persistence import InconsistentVersionWarning
from ._version import __version__
from .clustering import DeepClustering

__all__ = [
    "Autoencoder",
    "Checkpoint",
    "DAEImputer",
    "DAEOutlierDetector",
    "DeepClustering",
    "DenoisingAutoencoder",
    "InconsistentVersionWarning",
    "__version__",
]
