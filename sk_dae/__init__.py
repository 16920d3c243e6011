"""sk-dae: a scikit-learn compatible denoising autoencoder on PyTorch."""

from ._deep_clustering import DeepClustering
from ._estimator import DenoisingAutoencoder
from ._imputer import DAEImputer
from ._network import Autoencoder
from ._outliers import DAEOutlierDetector
from ._persistence import InconsistentVersionWarning
from ._version import __version__

__all__ = [
    "Autoencoder",
    "DAEImputer",
    "DAEOutlierDetector",
    "DeepClustering",
    "DenoisingAutoencoder",
    "InconsistentVersionWarning",
    "__version__",
]
