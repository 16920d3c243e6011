"""The convolutional autoencoder and the image-aware corruptions through the estimator:
image shapes, learning, the estimator's methods, persistence, continuing a fit, the
wrappers."""

import pickle

import joblib
import numpy as np
import pytest
from conftest import CONSTANT_STEP, fit_quiet
from sklearn.decomposition import PCA

from sk_dae import DAEImputer, DAEOutlierDetector, DeepClustering, DenoisingAutoencoder
from sk_dae._autoencoder import _inference_work
from sk_dae._core.conv import multiply_adds_per_row
from sk_dae._core.data import INFERENCE_BATCH_SIZE

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


def conv(**params):
    """A small, seeded convolutional model of the 8x8 digits: 8 channels, a dense
    layer of 32, 8 codes, 5 epochs at a constant step."""
    defaults = dict(
        n_components=8,
        architecture="conv",
        image_shape=(8, 8),
        conv_channels=(8,),
        hidden_layer_sizes=(32,),
        batch_size=64,
        max_iter=5,
        random_state=0,
    )
    return DenoisingAutoencoder(**{**defaults, **CONSTANT_STEP, **params})


@pytest.fixture(scope="module")
def X(few_digits):
    return few_digits


@pytest.fixture(scope="module")
def fitted(X):
    return fit_quiet(conv(), X)


def test_the_conv_network_is_built_for_the_image(fitted):
    spec = fitted.module_.spec()
    assert spec["architecture"] == "conv" and spec["image_shape"] == (8, 8, 1)
    assert fitted.image_shape_ == (8, 8, 1)
    assert "Conv2d" in fitted.summary() and "ConvOutput" in fitted.summary()


def test_a_conv_network_s_auto_batch_is_at_most_64_rows(digits_split):
    # 1,347 rows: the MLP's rule (a sixteenth of the rows) would take batches of 84.
    X_train = digits_split.X_train
    weights = {
        batch: fit_quiet(conv(batch_size=batch, max_iter=1, early_stopping=False), X_train)
        .module_.state_dict()["encoder.1.weight"]
        .numpy()
        for batch in ("auto", 64, 84)
    }
    np.testing.assert_array_equal(weights["auto"], weights[64])
    assert not np.array_equal(weights["auto"], weights[84])


def test_image_shape_none_is_a_square_or_one_row(X):
    square = fit_quiet(conv(image_shape=None, max_iter=1), X)
    assert square.image_shape_ == (8, 8, 1)
    row = fit_quiet(conv(image_shape=None, max_iter=1), X[:, :10])
    assert row.image_shape_ == (1, 10, 1)


def test_an_mlp_has_no_image_unless_told(X):
    mlp = fit_quiet(conv(architecture="mlp", image_shape=None, conv_channels="auto"), X)
    assert mlp.image_shape_ is None
    told = fit_quiet(conv(architecture="mlp", image_shape=(8, 8), max_iter=1), X)
    assert told.image_shape_ == (8, 8, 1)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(image_shape=(8, 9)), r"image_shape=\(8, 9\) holds 72 values .* 64 features"),
        (dict(image_shape=(8, 8, 2)), "holds 128 values"),
        (dict(image_shape=(8, "a")), "image_shape must be"),
        (dict(image_shape=(8, 8, 1, 1)), "image_shape must be"),
        (dict(tied_weights=True), "tied_weights=True needs architecture='mlp'"),
        (dict(conv_channels=(0,)), "conv_channels must be"),
        (dict(architecture="mlp", noise="occlusion", image_shape=(4, 4)), "holds 16 values"),
    ],
)
def test_bad_image_settings_are_refused_clearly(X, params, message):
    with pytest.raises(ValueError, match=message):
        conv(**params).fit(X)


def test_conv_learns_the_digits_better_than_pca(digits_split):
    # The defaults (a PCA start, the held-out check) on the 8x8 digits with conv: the
    # held-out error never ends above PCA's and training improves on it.
    X_train, X_test = digits_split["X_train"], digits_split["X_test"]
    dae = DenoisingAutoencoder(
        16, architecture="conv", max_iter=15, random_state=0, n_threads=1
    ).fit(X_train)
    pca = PCA(16).fit(X_train)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert -dae.score(X_test) < 0.9 * pca_mse


def test_a_random_start_trains(X):
    dae = fit_quiet(conv(init="random", max_iter=20, learning_rate_init=3e-3), X)
    assert dae.loss_curve_[-1] < 0.6 * dae.loss_curve_[0]


def test_methods_have_their_shapes_and_dtypes(fitted, X):
    codes = fitted.transform(X)
    assert codes.shape == (200, 8) and codes.dtype == np.float32
    assert fitted.inverse_transform(codes).shape == (200, 64)
    assert fitted.reconstruct(X.astype(np.float64)).dtype == np.float64
    np.testing.assert_allclose(
        fitted.reconstruct(X.astype(np.float64)), fitted.reconstruct(X), atol=1e-5
    )
    assert fitted.score_samples(X).shape == (200,)


def test_transform_layers_all_matches_its_names(X):
    dae = fit_quiet(conv(transform_layers="all", max_iter=1), X)
    assert dae.transform(X).shape[1] == len(dae.get_feature_names_out()) == 2 * 32 + 8


@pytest.mark.parametrize("how", ["pickle", "joblib", "safe file"])
def test_persistence_round_trips(fitted, X, tmp_path, how):
    if how == "pickle":
        loaded = pickle.loads(pickle.dumps(fitted))
    elif how == "joblib":
        joblib.dump(fitted, tmp_path / "m.joblib")
        loaded = joblib.load(tmp_path / "m.joblib")
    else:
        fitted.save(tmp_path / "m.safetensors")
        loaded = DenoisingAutoencoder.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    assert loaded.module_.spec() == fitted.module_.spec()
    # The loaded model continues as the fitted one does.
    a = fitted.set_params(warm_start=True)
    b = loaded.set_params(warm_start=True)
    np.testing.assert_array_equal(
        fit_quiet(pickle.loads(pickle.dumps(a)), X).transform(X), fit_quiet(b, X).transform(X)
    )
    fitted.set_params(warm_start=False)


def test_partial_fit_and_warm_start_continue_the_conv_network(X):
    dae = conv(batch_norm=True, dropout=0.1)
    for chunk in np.array_split(X, 4):
        dae.partial_fit(chunk)
    assert dae.n_iter_ == 4 and dae.module_.spec()["batch_norm"]
    warm = fit_quiet(conv(max_iter=2), X).set_params(warm_start=True, max_iter=2)
    before = warm.n_iter_
    fit_quiet(warm, X)
    assert warm.n_iter_ == before + 2
    with pytest.raises(ValueError, match="architecture='mlp'"):
        warm.set_params(architecture="mlp", conv_channels="auto").fit(X)


def test_same_seed_same_fit_with_augmentation_and_occlusion(X):
    params = dict(noise="occlusion", noise_level=0.2, augment="affine", max_iter=2)
    a, b = fit_quiet(conv(**params), X), fit_quiet(conv(**params), X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    plain = fit_quiet(conv(noise="occlusion", noise_level=0.2, max_iter=2), X)
    assert not np.array_equal(plain.transform(X), a.transform(X))


def test_corrupt_occludes_blocks(X):
    dae = fit_quiet(conv(noise="occlusion", noise_level=0.25, max_iter=1), X)
    noisy = dae.corrupt(X + 0.5, random_state=0)
    hidden = (noisy == 0).reshape(-1, 8, 8)
    assert np.all(hidden.sum(axis=(1, 2)) == 16)


def test_augmentation_moves_pairs_together_and_works_with_the_mlp(X):
    rng = np.random.default_rng(0)
    noisy = np.clip(X + rng.normal(0, 0.2, X.shape), 0, 1).astype(np.float32)
    pairs = conv(target="y", augment="shift", noise=None).fit(noisy, X)
    assert pairs.n_iter_ == 5 and np.isfinite(pairs.loss_curve_).all()
    mlp = conv(architecture="mlp", conv_channels="auto", image_shape=(8, 8), augment="shift")
    assert fit_quiet(mlp, X).image_shape_ == (8, 8, 1)


def test_wrappers_take_a_conv_autoencoder(X):
    detector = DAEOutlierDetector(conv(max_iter=3), n_neighbors=5).fit(X)
    assert detector.predict(X).shape == (200,)
    clusterer = DeepClustering(3, autoencoder=conv(max_iter=3), max_iter=2, n_init=1)
    labels = clusterer.fit_predict(X)
    assert set(labels) <= {0, 1, 2}
    assert clusterer.autoencoder_.module_.spec()["architecture"] == "conv"
    missing = X.copy()
    missing[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    filled = DAEImputer(autoencoder=conv(noise="masking", max_iter=2)).fit_transform(missing)
    assert not np.isnan(filled).any()


def test_transform_thread_policy_counts_the_convolutions_products(X):
    # A convolution reuses its few weights at every pixel: counting weights alone put
    # conv inference below the size that gets a second thread.
    dae = fit_quiet(conv(max_iter=1), X)
    weights = sum(p.numel() for p in dae.module_.parameters() if p.ndim == 2)
    rows = min(len(X), INFERENCE_BATCH_SIZE)
    per_row = _inference_work(dae.module_, X).flops_per_batch / (2 * rows)
    assert per_row == multiply_adds_per_row(dae.module_.spec()) > weights
