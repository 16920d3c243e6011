"""DenoisingAutoencoder on tables: swap noise, noise in units of each feature's spread,
and missing values in fit and inference."""

import numpy as np
import pytest
from conftest import fit_quiet, small, tiny
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from sk_dae import DenoisingAutoencoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def X(digits):
    """600 digits in [0, 1], float64 (read-only)."""
    return digits[0][:600]


@pytest.fixture(scope="module")
def cancer():
    """breast_cancer's 569 x 30 features, standardized (read-only)."""
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    X.flags.writeable = False
    return X


def _round_trip(dae, tmp_path):
    path = tmp_path / "dae.safetensors"
    dae.save(path)
    return DenoisingAutoencoder.load(path)


# ----------------------------------------------------------------- swap noise


def test_swap_noise_trains_and_is_reproducible(cancer):
    a = fit_quiet(small(noise="swap", noise_level=0.15), cancer)
    b = fit_quiet(small(noise="swap", noise_level=0.15), cancer)
    assert a.loss_curve_ == b.loss_curve_
    assert a.loss_curve_[-1] < a.loss_curve_[0]
    np.testing.assert_array_equal(a.transform(cancer), b.transform(cancer))


def test_swap_corrupt_takes_values_from_the_same_column(cancer):
    dae = fit_quiet(tiny(noise="swap", noise_level=0.3), cancer)
    noisy = dae.corrupt(cancer, random_state=0)
    changed = noisy != cancer
    assert changed.mean() == pytest.approx(0.3, abs=0.02)
    for j in range(cancer.shape[1]):
        assert np.isin(noisy[:, j], cancer[:, j]).all()
    np.testing.assert_array_equal(dae.corrupt(cancer, random_state=0), noisy)


def test_swap_noise_level_is_a_fraction(cancer):
    with pytest.raises(ValueError, match="noise_level must be a fraction"):
        tiny(noise="swap", noise_level=1.2).fit(cancer)


def test_swap_noise_model_round_trips_through_save(cancer, tmp_path):
    dae = fit_quiet(tiny(noise="swap", noise_level=0.2), cancer)
    loaded = _round_trip(dae, tmp_path)
    np.testing.assert_array_equal(loaded.transform(cancer), dae.transform(cancer))
    np.testing.assert_array_equal(
        loaded.corrupt(cancer, random_state=1), dae.corrupt(cancer, random_state=1)
    )
