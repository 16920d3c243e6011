"""ImageDenoiser: the three ways to learn, images of any size, the scikit-learn
conventions that apply to an estimator of lists, and clear errors for bad input."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sk_dae.image import ImageDenoiser

pytest.importorskip("skimage")

SIGMA = 0.1
FAST = {"crop_size": 24, "batch_size": 8, "width": 16, "depth": 4, "n_threads": 1}


def smooth_image(h, w, channels=None, phase=0.0):
    """A smooth picture in [0.1, 0.9]: what a denoiser can tell from white noise."""
    y, x = np.mgrid[:h, :w] / 16.0
    image = 0.5 + 0.4 * np.sin(x + phase) * np.cos(0.7 * y - phase)
    if channels:
        image = np.stack([np.roll(image, 3 * c, axis=1) for c in range(channels)], axis=-1)
    return image


def noisy(image, seed=0, sigma=SIGMA):
    return image + sigma * np.random.default_rng(seed).standard_normal(image.shape)


def error(a, b):
    return float(np.mean((a - b) ** 2))


@pytest.fixture(scope="module")
def fitted():
    """Fit on clean images with a known noise level, no guide."""
    train = [smooth_image(40, 56), smooth_image(33, 47, phase=1.0)]
    return ImageDenoiser(noise_level=SIGMA, guide=None, max_iter=60, random_state=0, **FAST).fit(
        train
    )


def test_learned_from_clean_images_it_denoises_images_of_other_sizes(fitted):
    tests = [smooth_image(37, 61, phase=2.0), smooth_image(90, 20, phase=0.5)]
    inputs = [noisy(t, seed=i) for i, t in enumerate(tests)]
    out = fitted.transform(inputs)
    assert fitted.mode_ == "synthetic" and fitted.guide_ is None
    for image, given, clean in zip(out, inputs, tests):
        assert image.shape == clean.shape and image.dtype == given.dtype
        assert error(image, clean) < 0.5 * error(given, clean)


def test_the_nl_means_guide_is_at_least_nl_means():
    from skimage.restoration import denoise_nl_means

    clean = smooth_image(48, 48)
    denoiser = ImageDenoiser(
        noise_level=SIGMA, guide="nl_means", max_iter=100, random_state=0, **FAST
    )
    denoiser.fit([clean])
    assert denoiser.guide_ == "nl_means"
    test = smooth_image(40, 52, phase=1.5)
    given = noisy(test, seed=3)
    nlm = denoise_nl_means(
        given, h=0.8 * SIGMA, sigma=SIGMA, fast_mode=True, patch_size=5, patch_distance=6
    )
    assert error(denoiser.transform([given])[0], test) <= error(nlm, test)


def test_the_default_guide_is_bm3d_at_least_bm3d_and_needs_no_package(monkeypatch):
    import sys

    from sk_dae._core import block_matching

    # sk_dae's own BM3D: the authors' package (non-commercial use only) is not needed
    monkeypatch.setitem(sys.modules, "bm3d", None)  # import bm3d now raises ImportError
    denoiser = ImageDenoiser(noise_level=SIGMA, max_iter=150, random_state=0, **FAST)
    denoiser.fit([smooth_image(48, 48)])
    assert denoiser.guide_ == "bm3d" and denoiser.module_.guided
    test = smooth_image(40, 52, phase=1.5)
    given = noisy(test, seed=3)
    reference = block_matching.bm3d(torch.tensor(given, dtype=torch.float32), SIGMA).numpy()
    assert error(denoiser.transform([given])[0], test) <= error(reference, test)


def test_the_bm3d_guide_keeps_to_n_threads_in_fit_and_transform(monkeypatch):
    from sk_dae._core import block_matching

    seen = []
    original = block_matching.bm3d

    def recording(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(block_matching, "bm3d", recording)
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # the user's count, which n_threads=1 overrides
    try:
        params = {**FAST, "n_threads": 1}
        denoiser = ImageDenoiser(noise_level=SIGMA, max_iter=2, random_state=0, **params)
        denoiser.fit([smooth_image(24, 24)]).transform([noisy(smooth_image(20, 20))])
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    assert len(seen) == 17 and set(seen) == {1}  # 16 noisy copies, then the test image


def test_colour_images_keep_their_channels():
    train = [smooth_image(30, 30, channels=3)]
    denoiser = ImageDenoiser(noise_level=SIGMA, guide=None, max_iter=5, random_state=0, **FAST)
    out = denoiser.fit(train).transform([noisy(smooth_image(21, 35, channels=3))])
    assert denoiser.n_channels_ == 3 and out[0].shape == (21, 35, 3)


def test_learned_from_pairs():
    clean = [smooth_image(40, 40), smooth_image(30, 50, phase=1.0)]
    dirty = [noisy(c, seed=i) for i, c in enumerate(clean)]
    denoiser = ImageDenoiser(max_iter=100, random_state=0, **FAST).fit(dirty, clean)
    assert denoiser.mode_ == "pairs" and denoiser.guide_ is None
    test = smooth_image(36, 44, phase=2.0)
    given = noisy(test, seed=9)
    assert error(denoiser.transform([given])[0], test) < 0.5 * error(given, test)


@pytest.mark.parametrize("self_supervision", ["recorrupted", "blind_spot"])
def test_self_supervised_from_noisy_images_alone(self_supervision):
    clean = smooth_image(64, 64)
    given = noisy(clean, seed=1)
    denoiser = ImageDenoiser(
        self_supervision=self_supervision,
        max_iter=80,
        random_state=0,
        learning_rate_init=3e-3,
        **FAST,
    )
    out = denoiser.fit_transform([given])
    assert denoiser.mode_ == "self"
    assert denoiser.noise_level_ == pytest.approx(SIGMA, rel=0.2)
    assert error(out[0], clean) < 0.5 * error(given, clean)


def test_self_supervision_is_recorrupted_by_default_and_ignored_with_clean_images():
    given = [noisy(smooth_image(48, 48), seed=1)]
    params = dict(max_iter=20, random_state=0, **FAST)
    default = ImageDenoiser(**params).fit(given).transform(given)[0]
    recorrupted = ImageDenoiser(self_supervision="recorrupted", **params).fit(given)
    blind = ImageDenoiser(self_supervision="blind_spot", **params).fit(given)
    np.testing.assert_array_equal(default, recorrupted.transform(given)[0])
    assert not np.array_equal(default, blind.transform(given)[0])
    clean = [smooth_image(48, 48)]
    synthetic = dict(noise_level=SIGMA, guide=None, **params)
    a = ImageDenoiser(self_supervision="blind_spot", **synthetic).fit(clean)
    b = ImageDenoiser(**synthetic).fit(clean)
    np.testing.assert_array_equal(a.transform(given)[0], b.transform(given)[0])


def test_same_seed_same_model_and_pickle_round_trip(fitted):
    params = fitted.get_params()
    again = clone(fitted).fit([smooth_image(40, 56), smooth_image(33, 47, phase=1.0)])
    image = [noisy(smooth_image(20, 20))]
    np.testing.assert_array_equal(again.transform(image)[0], fitted.transform(image)[0])
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(image)[0], fitted.transform(image)[0])
    assert clone(fitted).set_params(width=8).get_params()["width"] == 8
    assert fitted.get_params() == params


def test_unfitted():
    with pytest.raises(NotFittedError):
        ImageDenoiser().transform([np.zeros((8, 8))])


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((8, 8)), "must be a list of images"),
        ([], "is empty"),
        ([np.zeros(8)], r"X\[0\] has shape \(8,\)"),
        ([np.zeros((2, 8, 8, 1))], "2-D .* or 3-D"),
        ([np.zeros((8, 8)), np.zeros((8, 8, 3))], r"X\[1\] has 3 channel\(s\) where X\[0\]"),
        ([np.zeros((1, 8))], "at least 2 pixels"),
        ([np.full((8, 8), np.nan)], "NaN"),
        ([np.array([["a", "b"], ["c", "d"]])], "array of numbers"),
    ],
)
def test_bad_images_in_fit(images, message):
    with pytest.raises(ValueError, match=message):
        ImageDenoiser(noise_level=0.1, guide=None, max_iter=1, **FAST).fit(images)


def test_bad_input_to_a_fitted_denoiser_leaves_it_as_it_was(fitted):
    before = pickle.dumps(fitted)
    with pytest.raises(ValueError, match="the training images have 1"):
        fitted.transform([np.zeros((8, 8, 3))])
    with pytest.raises(ValueError, match="same size"):
        clone(fitted).fit([np.zeros((8, 8))], [np.zeros((9, 8))])
    with pytest.raises(ValueError, match="noise_level"):
        fitted.transform([np.zeros((8, 8))], noise_level=-1.0)
    assert pickle.dumps(fitted) == before


def test_bad_parameters():
    image = [smooth_image(16, 16)]
    with pytest.raises(ValueError, match="range must be two numbers"):
        ImageDenoiser(noise_level=(0.2, 0.1)).fit(image)
    with pytest.raises(ValueError, match="guide='nl_means' cannot be used"):
        ImageDenoiser(guide="nl_means").fit(image)
    with pytest.raises(ValueError, match="depth"):
        ImageDenoiser(depth=1).fit(image)
    with pytest.raises(ValueError, match="self_supervision"):
        ImageDenoiser(self_supervision="noise2noise").fit(image)


def test_values_far_outside_the_training_range_warn(fitted):
    with pytest.warns(UserWarning, match="far outside the training images"):
        fitted.transform([255 * smooth_image(16, 16)])


def test_a_noise_range_is_estimated_per_image():
    denoiser = ImageDenoiser(noise_level=(0.05, 0.2), max_iter=2, random_state=0, **FAST)
    denoiser.fit([smooth_image(32, 32)])
    assert denoiser.noise_level_ == (0.05, 0.2)
    assert denoiser.transform([noisy(smooth_image(24, 24))])[0].shape == (24, 24)


def test_bfloat16_training_denoises_as_well_and_keeps_float32_weights(fitted):
    train = [smooth_image(40, 56), smooth_image(33, 47, phase=1.0)]
    params = dict(noise_level=SIGMA, guide=None, max_iter=60, random_state=0, **FAST)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        mixed = ImageDenoiser(precision="bfloat16", **params).fit(train)
    # Where PyTorch emulates bfloat16 (no oneDNN kernels for this CPU) the fit says so.
    slow = any("precision='bfloat16' on this CPU" in str(w.message) for w in record)
    assert slow == (not torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert {p.dtype for p in mixed.module_.parameters()} == {torch.float32}
    test = smooth_image(37, 61, phase=2.0)
    given = noisy(test, seed=3)
    errors = [error(model.transform([given])[0], test) for model in (fitted, mixed)]
    assert errors[1] <= 1.1 * errors[0], errors
    # The rounding changes the fit: the parameter is not ignored.
    assert mixed.loss_curve_ != fitted.loss_curve_
