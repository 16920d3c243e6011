"""scikit-learn's own estimator checks, run on small, fast settings."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_dae import DAEImputer, DAEOutlierDetector, DeepClustering, DenoisingAutoencoder


def _fast_estimators():
    # Small networks and few epochs keep the ~50 checks to seconds; every check still fits
    # and transforms for real. max_iter is reached, so ConvergenceWarning is expected.
    return [
        DenoisingAutoencoder(n_components=3, hidden_layer_sizes=(8,), max_iter=5),
        DenoisingAutoencoder(
            n_components=2,
            hidden_layer_sizes=(8, 4),
            noise="masking",
            noise_level=0.2,
            tied_weights=True,
            batch_norm=True,
            dropout=0.1,
            early_stopping=True,
            max_iter=5,
        ),
        # A convolutional network: rows of 2-10 features are square images when they can
        # be (4, 9), else one row of pixels; occlusion and shifts need nothing more.
        DenoisingAutoencoder(
            n_components=2,
            hidden_layer_sizes=(8,),
            architecture="conv",
            conv_channels=(4,),
            noise="occlusion",
            noise_level=0.25,
            augment="shift",
            dropout=0.1,
            max_iter=5,
        ),
        # The outlier detector: contamination="auto", then a fraction with the plain MSE.
        DAEOutlierDetector(
            DenoisingAutoencoder(n_components=2, hidden_layer_sizes=(8,), max_iter=5)
        ),
        DAEOutlierDetector(
            DenoisingAutoencoder(n_components=2, hidden_layer_sizes=(8,), max_iter=5),
            error="mse",
            contamination=0.1,
        ),
        # The imputer, with swap noise and its missing-value indicator.
        DAEImputer(
            autoencoder=DenoisingAutoencoder(
                n_components=2, hidden_layer_sizes=(8,), noise="swap", max_iter=5
            ),
            add_indicator=True,
        ),
        # The deep clusterer (IDEC): a small autoencoder, a few passes of fine-tuning.
        DeepClustering(
            n_clusters=3,
            autoencoder=DenoisingAutoencoder(n_components=2, hidden_layer_sizes=(16,), max_iter=5),
            max_iter=3,
            n_init=2,
        ),
    ]


def _expected_failed_checks(estimator):
    # As scikit-learn's MLP, partial_fit refuses early_stopping=True (one chunk has no
    # held-out rows to stop on); these two checks call partial_fit with the fit settings.
    if getattr(estimator, "early_stopping", False) is True:
        reason = "partial_fit does not support early_stopping=True, as MLPRegressor"
        return {"check_fit_score_takes_y": reason, "check_n_features_in_after_fitting": reason}
    return {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(_fast_estimators(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# What a user gets from the bare constructor: every public estimator at its defaults,
# with no warning let through.
@parametrize_with_checks(
    [DenoisingAutoencoder(), DAEOutlierDetector(), DAEImputer(), DeepClustering()]
)
def test_sklearn_compatible_at_the_defaults(estimator, check):
    check(estimator)
