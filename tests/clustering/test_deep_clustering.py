"""Tests of DeepClustering (DEC / IDEC) and of its torch side, sk_dae._core.dec."""

import copy
import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from conftest import interrupt_at_step
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import adjusted_rand_score, make_scorer, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, normalize

import sk_dae
from sk_dae import DenoisingAutoencoder, clustering
from sk_dae._core import dec as _dec
from sk_dae._core.seeds import seeds
from sk_dae.clustering import DeepClustering, _deep_clustering, _pipeline
from sk_dae.metrics import clustering_accuracy

# Pretraining and fine-tuning run short, fixed budgets on purpose.
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.usefixtures("one_torch_thread"),
]


def small_autoencoder(**params):
    defaults = dict(n_components=10, hidden_layer_sizes=(32,), max_iter=10, batch_size=64)
    return DenoisingAutoencoder(**{**defaults, **params})


@pytest.fixture(scope="module")
def data(digits_split):
    return digits_split.X_train, digits_split.y_train


@pytest.fixture(scope="module")
def pretrained(data):
    """One autoencoder pretrained on the training digits, shared through prefit=True."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return small_autoencoder(max_iter=30, random_state=0).fit(data[0])


def from_pretrained(autoencoder, **params):
    defaults = dict(n_clusters=10, prefit=True, learning_rate_init=1e-3, random_state=0)
    return DeepClustering(autoencoder=autoencoder, **{**defaults, **params})


# ----------------------------------------------------------------- the torch side


def test_soft_assignment_is_students_t_normalised():
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(7, 3, generator=generator, dtype=torch.float64)
    centers = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    for a in (1.0, 3.0):
        kernel = (1 + torch.cdist(z, centers) ** 2 / a) ** (-(a + 1) / 2)
        expected = kernel / kernel.sum(dim=1, keepdim=True)
        q = _dec.log_soft_assignment(z, centers, a).exp()
        torch.testing.assert_close(q, expected)
        # scale: the same kernel, distances measured in units of scale.
        scaled = _dec.log_soft_assignment(z * 0.01, centers * 0.01, a, scale=0.01).exp()
        torch.testing.assert_close(scaled, expected)


def test_warmup_raises_the_learning_rate_linearly():
    weight = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.Adam([weight], lr=0.1)
    schedule = _dec.warmup(optimizer, 4)
    rates = []
    for _ in range(6):
        rates.append(optimizer.param_groups[0]["lr"])
        weight.sum().backward()
        optimizer.step()
        schedule.step()
    assert rates == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])


def test_target_distribution_sharpens_and_balances():
    # Clusters of equal total weight: confident rows become more confident.
    q = torch.tensor([[0.8, 0.2], [0.2, 0.8], [0.5, 0.5]], dtype=torch.float64)
    p = _dec.target_distribution(q)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(3, dtype=torch.float64))
    assert p[0, 0] > 0.9 and p[1, 1] > 0.9
    torch.testing.assert_close(p[2], q[2])
    # Cluster 0 holds more weight: an undecided row leans to the smaller cluster 1.
    q = torch.tensor([[0.6, 0.4], [0.5, 0.5], [0.9, 0.1]], dtype=torch.float64)
    p = _dec.target_distribution(q)
    assert p[1, 1] > 0.5
    # KL(P || P) is zero and KL(P || Q) is not.
    assert float(_dec.clustering_loss(p.log(), p)) == pytest.approx(0.0, abs=1e-12)
    assert float(_dec.clustering_loss(q.log(), p)) > 0


def test_fine_tune_stops_on_label_changes_and_keeps_state_on_interrupt(pretrained, data):
    X = torch.from_numpy(np.array(data[0], dtype=np.float32))  # a writable copy
    codes = pretrained.transform(data[0])
    centers = KMeans(10, n_init=1, random_state=0).fit(codes).cluster_centers_

    def run(**params):
        module = _dec.ClusteringModule(copy.deepcopy(pretrained.module_), centers)
        optimizer = _dec.make_fine_tuning_optimizer(module, 1e-3, reconstruction_weight=1.0)
        generator = torch.Generator().manual_seed(0)
        args = dict(optimizer=optimizer, generator=generator, reconstruction_weight=1.0)
        return module, _dec.fine_tune(module, X, **{**args, "max_iter": 5, **params})

    _, result = run(tol=1.0)  # every share of changes is below 1: stop at the 2nd refresh
    assert result.converged and len(result.label_changes) == 1
    assert result.n_steps == result.steps_per_epoch and result.n_epochs == 1
    _, result = run(tol=0.0, update_interval=7)
    assert not result.converged and result.n_steps == 5 * result.steps_per_epoch
    assert len(result.loss_curve) == len(result.label_changes) == -(-result.n_steps // 7)
    with interrupt_at_step(4):
        module, result = run(tol=0.0)
    assert result.interrupted and result.n_steps == 3
    assert torch.isfinite(module.centers).all()


# ----------------------------------------------------------------- behaviour


def test_fine_tuning_beats_kmeans_on_the_pretrained_codes(pretrained, data):
    X, y = data
    baseline = from_pretrained(pretrained, max_iter=0).fit(X)
    # max_iter=0 is exactly KMeans on the pretrained codes.
    kmeans = KMeans(10, n_init=10, random_state=seeds(0, 2, bits=32)[1])
    kmeans_labels = kmeans.fit_predict(pretrained.transform(X))
    assert adjusted_rand_score(kmeans_labels, baseline.labels_) > 0.99
    for method in ("idec", "dec"):
        model = from_pretrained(pretrained, method=method, tol=0.0, max_iter=20).fit(X)
        np.testing.assert_array_equal(model.initial_labels_, baseline.initial_labels_)
        assert model.n_iter_ == model.max_iter
        assert clustering_accuracy(y, model.labels_) >= clustering_accuracy(y, baseline.labels_)
        nmi = normalized_mutual_info_score
        assert nmi(y, model.labels_) >= nmi(y, baseline.labels_)
        # The encoder and the centres moved; the given autoencoder did not.
        assert not np.allclose(model.transform(X), pretrained.transform(X))
        assert not np.allclose(model.cluster_centers_, baseline.cluster_centers_)


def test_the_units_of_X_as_a_whole_do_not_change_the_clustering(data, digits_split):
    X, X_test = data[0], digits_split.X_test
    assert X.max() == 1.0  # times 1024 and back is then X bit for bit
    fits = [
        DeepClustering(10, autoencoder=small_autoencoder(), max_iter=3, random_state=0).fit(
            X * factor
        )
        for factor in (1.0, 1024.0)
    ]
    assert (fits[0].scale_, fits[1].scale_) == (1.0, 1024.0)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    np.testing.assert_array_equal(fits[0].predict(X_test), fits[1].predict(X_test * 1024))
    np.testing.assert_array_equal(
        fits[0].predict_proba(X_test), fits[1].predict_proba(X_test * 1024)
    )
    # autoencoder_ takes the rows divided by scale_.
    np.testing.assert_array_equal(
        fits[1].transform(X_test * 1024), fits[1].autoencoder_.transform(X_test)
    )


def test_small_data_in_its_own_units_keeps_its_clusters():
    # Iris as it comes (values up to 7.9, codes of the default autoencoder about 0.02
    # apart per dimension): fine-tuning refines KMeans's start instead of scattering
    # it, and the soft assignments are confident. Before the input scale, the kernel
    # scale and the warm-up, these seeds ended at accuracy 0.65 to 0.69.
    X, y = load_iris(return_X_y=True)
    for seed in (0, 3, 4):
        model = DeepClustering(3, random_state=seed).fit(X)
        assert clustering_accuracy(y, model.labels_) > 0.9
        assert np.bincount(model.labels_).min() >= 40
        assert model.predict_proba(X).max(axis=1).mean() > 0.8


def test_the_auto_budget_is_20_passes_or_1000_steps():
    passes = _deep_clustering._passes
    assert passes("auto", 1797, 256) == 125  # 8 steps a pass
    assert passes("auto", 10_000, 256) == 25 and passes("auto", 70_000, 256) == 20
    assert passes("auto", 150, 256) == 1000 and passes(7, 1797, 256) == 7


def test_the_default_pretraining_is_1500_steps_between_20_and_200_passes():
    passes = clustering.default_pretraining_passes
    assert passes(1_000) == 200 and passes(3_000) == 125  # 4 and 12 batches of 256
    assert passes(10_000) == 38 and passes(70_000) == 20 and passes(18_946) == 20
    assert passes(999) == 20 and passes(150) == 20  # few rows: 20 passes, as before
    assert passes(1_000, batch_size=64) == 94  # 16 batches a pass
    recipe = clustering.make_pretraining_autoencoder
    assert recipe(n_samples=1_000).max_iter == 200 and recipe().max_iter == "clustering"
    assert recipe(n_samples=1_000, max_iter=3).max_iter == 3
    assert recipe("dec-keras", n_samples=1_000).max_iter == 300


def test_images_of_20000_rows_pretrain_by_sgd_and_everything_else_by_adam():
    recipe = clustering.default_pretraining_recipe
    images = np.zeros((20_000, 256), dtype=np.float32)
    assert recipe(images) == "dec-keras"
    assert recipe(images[:19_999]) == "adam"  # fewer rows
    assert recipe(images[:, :255]) == "adam"  # fewer features: a table
    standardized = images.copy()
    standardized[0, 0] = -0.1
    assert recipe(standardized) == "adam"  # negative values: not intensities or counts
    passes = clustering.default_pretraining_passes
    assert passes(70_000, recipe="dec-keras") == 150 and passes(20_000, recipe="dec-keras") == 150
    assert passes(140_000, recipe="dec-keras") == 75  # at most 41,100 steps
    dae = clustering.make_pretraining_autoencoder(X=images)
    assert (dae.optimizer, dae.learning_rate_init, dae.noise, dae.max_iter) == (
        "sgd",
        1.0,
        None,
        150,
    )
    table = clustering.make_pretraining_autoencoder(X=images[:1_000])
    assert (table.optimizer, table.noise, table.max_iter) == ("adam", "masking", 200)


@pytest.mark.parametrize("shift, optimizer", [(0.0, "sgd"), (-0.5, "adam")])
def test_the_default_autoencoder_follows_the_rows_values(monkeypatch, shift, optimizer):
    # The thresholds lowered so that a few hundred rows count as images: the rule sees
    # the values DeepClustering trains on, not only their shape.
    monkeypatch.setattr(_pipeline, "SGD_FROM_ROWS", 300)
    monkeypatch.setattr(_pipeline, "SGD_EPOCHS", 2)
    rng = np.random.default_rng(0)
    X = (rng.random((400, 256)) + shift).astype(np.float32)
    model = DeepClustering(n_clusters=3, max_iter=0, random_state=0).fit(X)
    assert model.autoencoder_.optimizer == optimizer
    if optimizer == "sgd":
        assert model.autoencoder_.n_iter_ == 2 and model.autoencoder_.noise is None


def test_a_given_autoencoder_keeps_its_own_length():
    X = np.random.default_rng(0).random((1_000, 3)).astype(np.float32)
    dae = clustering.make_pretraining_autoencoder(max_iter=4, hidden_layer_sizes=(8,))
    model = DeepClustering(n_clusters=3, max_iter=0, autoencoder=dae, random_state=0).fit(X)
    assert model.autoencoder_.n_iter_ == 4


def test_the_default_fit_on_the_digits_converges_without_a_warning(digits):
    # Every default fit of the 1,797 digits used to stop at max_iter=20 passes with a
    # ConvergenceWarning (0.4% to 1% of the labels still changing at every refresh).
    X, y = digits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = DeepClustering(n_clusters=10, random_state=0).fit(X)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert model.autoencoder_.n_iter_ == 188  # 1,500 steps of 8 batches
    assert model.n_iter_ <= 125 and model.label_changes_[-1] < model.tol  # 125: "auto"
    assert clustering_accuracy(y, model.labels_) > clustering_accuracy(y, model.initial_labels_)


def test_fitted_attributes_and_methods_agree(pretrained, data, digits_split):
    X, X_test = data[0], digits_split.X_test
    # float64 training data: fit encodes them through a float64 copy of the network.
    X = X.astype(np.float64)
    model = from_pretrained(pretrained).fit(X)
    assert model.labels_.dtype == np.int64 and model.labels_.shape == (len(X),)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    np.testing.assert_array_equal(model.fit_predict(X), model.labels_)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), model.predict(X_test))
    codes = model.transform(X_test)
    np.testing.assert_array_equal(codes, model.autoencoder_.transform(X_test))
    assert codes.dtype == np.float32
    # float64 input runs through a float64 copy of the fine-tuned network, not a stale
    # copy of the pretrained one (fused Adam's in-place steps leave tensor versions as
    # they were).
    codes64 = model.transform(X_test.astype(np.float64))
    assert codes64.dtype == np.float64
    np.testing.assert_allclose(codes64, codes, rtol=1e-4, atol=1e-4)
    assert model.cluster_centers_.shape == (10, 10)
    assert len(model.label_changes_) == len(model.loss_curve_) >= 1
    assert list(model.get_feature_names_out()[:2]) == ["deepclustering0", "deepclustering1"]
    assert 1 <= model.n_iter_ <= _deep_clustering._passes(model.max_iter, len(X), 256)


def test_reproducible_with_random_state(data):
    X = data[0][:600]
    params = dict(n_clusters=10, autoencoder=small_autoencoder(max_iter=3), max_iter=3, tol=0.0)
    first = DeepClustering(random_state=1, **params).fit(X)
    again = DeepClustering(random_state=1, **params).fit(X)
    np.testing.assert_array_equal(first.labels_, again.labels_)
    np.testing.assert_array_equal(first.cluster_centers_, again.cluster_centers_)
    np.testing.assert_array_equal(first.transform(X), again.transform(X))
    other = DeepClustering(random_state=2, **params).fit(X)
    assert not np.array_equal(first.cluster_centers_, other.cluster_centers_)
    # Global random state is neither used nor changed.
    state = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    DeepClustering(**params).fit(X)
    assert torch.equal(torch.random.get_rng_state(), state[0])
    np.testing.assert_array_equal(np.random.get_state()[1], state[1])


def test_clone_grid_search_with_an_external_metric(data):
    X, y = data[0][:500], data[1][:500]
    model = DeepClustering(
        10, autoencoder=small_autoencoder(max_iter=3), max_iter=2, random_state=0
    )
    assert clone(model).get_params()["autoencoder__max_iter"] == 3
    search = GridSearchCV(
        model,
        {"method": ["dec", "idec"], "autoencoder__n_components": [5, 10]},
        scoring=make_scorer(adjusted_rand_score),
        cv=2,
    ).fit(X, y)
    assert search.best_params_["method"] in ("dec", "idec")
    assert (
        search.best_estimator_.cluster_centers_.shape[1]
        == search.best_params_["autoencoder__n_components"]
    )
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_joblib_round_trip_and_pipeline(pretrained, data, tmp_path):
    X = data[0]
    model = from_pretrained(pretrained, max_iter=2).fit(X)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.labels_, model.labels_)

    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("cluster", DeepClustering(10, autoencoder=small_autoencoder(), random_state=0)),
        ]
    )
    labels = pipe.fit_predict(X * 16.0)
    np.testing.assert_array_equal(labels, pipe.named_steps["cluster"].labels_)
    np.testing.assert_array_equal(pipe.predict(X * 16.0), labels)
    assert pipe.transform(X[:5] * 16.0).shape == (5, 10)


def test_verbose_reports_pretraining_and_fine_tuning(data, capsys):
    ae = small_autoencoder(max_iter=2)
    DeepClustering(10, autoencoder=ae, max_iter=2, tol=0.0, verbose=1, random_state=0).fit(
        data[0][:300]
    )
    out = capsys.readouterr().out
    assert "epoch 2/2" in out  # the autoencoder's lines
    assert "DeepClustering: refresh 2, epoch 2/2" in out and "labels changed" in out


# ----------------------------------------------------------------- manifold step


def test_manifold_start_carries_the_embedding_clusters(pretrained, data):
    # A transformer as the manifold step: PCA, cheap beside UMAP's numba compilation.
    X = data[0]
    model = from_pretrained(pretrained, manifold=PCA(3), max_iter=0).fit(X)
    codes = pretrained.transform(X)
    expected = KMeans(10, n_init=10, random_state=seeds(0, 2, bits=32)[1]).fit_predict(
        PCA(3).fit_transform(codes)
    )
    assert adjusted_rand_score(expected, model.initial_labels_) > 0.99
    for k in range(10):
        centre = codes[model.initial_labels_ == k].mean(axis=0)
        np.testing.assert_allclose(model.cluster_centers_[k], centre, rtol=1e-5, atol=1e-5)
    # Fine-tuning starts from the embedding's clusters: its first target is their one-hot
    # encoding, so the first change of labels is counted against them.
    tuned = from_pretrained(pretrained, manifold=PCA(3), max_iter=1, tol=0.0).fit(X)
    np.testing.assert_array_equal(tuned.initial_labels_, model.initial_labels_)
    changed = np.mean(tuned.labels_ != tuned.initial_labels_)
    assert tuned.label_changes_[0] == pytest.approx(changed, abs=1e-6)


def test_normalize_start_clusters_the_codes_by_direction(pretrained, data):
    X = data[0]
    model = from_pretrained(pretrained, manifold="normalize", max_iter=0).fit(X)
    codes = pretrained.transform(X)
    expected = KMeans(10, n_init=10, random_state=seeds(0, 2, bits=32)[1]).fit_predict(
        normalize(codes)
    )
    assert adjusted_rand_score(expected, model.initial_labels_) > 0.99
    plain = from_pretrained(pretrained, max_iter=0).fit(X)
    assert adjusted_rand_score(plain.initial_labels_, model.initial_labels_) < 0.99
    for k in range(10):  # the centres live in the code space, not on the sphere
        centre = codes[model.initial_labels_ == k].mean(axis=0)
        np.testing.assert_allclose(model.cluster_centers_[k], centre, rtol=1e-5, atol=1e-5)


def test_gmm_start_is_a_mixture_whose_components_give_the_centres(pretrained, data):
    X = data[0]
    codes = pretrained.transform(X)
    seed = seeds(0, 2, bits=32)[1]
    for manifold, points in ((None, codes), (PCA(3), PCA(3).fit_transform(codes))):
        model = from_pretrained(pretrained, init="gmm", n_init=2, manifold=manifold, max_iter=0)
        model.fit(X)
        mixture = GaussianMixture(10, covariance_type="full", n_init=2, random_state=seed)
        expected = mixture.fit(points).predict(points)
        assert adjusted_rand_score(expected, model.initial_labels_) > 0.99
        assert len(np.unique(model.initial_labels_)) == 10
        for k in range(10):
            centre = codes[model.initial_labels_ == k].mean(axis=0)
            np.testing.assert_allclose(model.cluster_centers_[k], centre, rtol=1e-5, atol=1e-5)
    kmeans = from_pretrained(pretrained, max_iter=0).fit(X)
    assert adjusted_rand_score(kmeans.initial_labels_, model.initial_labels_) < 0.99
    # Fine-tuning starts from the mixture's clusters (their one-hot is the first target).
    tuned = from_pretrained(pretrained, init="gmm", n_init=2, max_iter=1, tol=0.0).fit(X)
    changed = np.mean(tuned.labels_ != tuned.initial_labels_)
    assert tuned.label_changes_[0] == pytest.approx(changed, abs=1e-6)


def test_augment_is_seeded_and_changes_fine_tuning(pretrained, data):
    X = data[0]
    params = dict(max_iter=2, tol=0.0)
    plain = from_pretrained(pretrained, **params).fit(X)
    fits = [from_pretrained(pretrained, augment="affine", **params).fit(X) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert not np.allclose(fits[0].cluster_centers_, plain.cluster_centers_, atol=1e-3)
    # The same start; "shift" and "affine" differ.
    np.testing.assert_array_equal(fits[0].initial_labels_, plain.initial_labels_)
    shifted = from_pretrained(pretrained, augment="shift", **params).fit(X)
    assert not np.allclose(shifted.cluster_centers_, fits[0].cluster_centers_, atol=1e-3)


def test_fine_tuning_augments_the_batches_not_the_targets(pretrained, data):
    X = torch.from_numpy(np.array(data[0][:300], dtype=np.float32))
    centers = KMeans(10, n_init=1, random_state=0).fit(pretrained.transform(X.numpy()))
    seen = []

    class Recorder(_dec.ClusteringModule):
        def forward(self, x):  # refreshes of the target: the rows as they are
            seen.append(("refresh", x.clone()))
            return super().forward(x)

    def augmenter(x, generator):
        seen.append(("batch", generator))
        return x.flip(1)

    module = Recorder(copy.deepcopy(pretrained.module_), centers.cluster_centers_)
    generator = torch.Generator().manual_seed(1)
    optimizer = _dec.make_fine_tuning_optimizer(module, 1e-3, reconstruction_weight=1.0)
    _dec.fine_tune(
        module,
        X,
        optimizer=optimizer,
        generator=torch.Generator().manual_seed(0),
        reconstruction_weight=1.0,
        max_iter=1,
        tol=0.0,
        augmenter=augmenter,
        augment_generator=generator,
    )
    refreshed = torch.cat([x for kind, x in seen if kind == "refresh"])
    torch.testing.assert_close(refreshed, torch.cat([X, X]))  # two refreshes, clean rows
    batches = [g for kind, g in seen if kind == "batch"]
    assert len(batches) == 2 and all(g is generator for g in batches)  # 300 rows: 2 steps


def test_augment_needs_images_and_passes_pretraining_augment_through(data):
    X = data[0][:100]
    model = DeepClustering(5, autoencoder=small_autoencoder(), augment="shift")
    with pytest.raises(ValueError, match="rows of 10 features are not square images"):
        model.fit(X[:, :10])
    assert not hasattr(model, "labels_")
    with pytest.raises(ValueError, match="image_shape"):
        DeepClustering(5, autoencoder=small_autoencoder(image_shape=(4, 4)), augment="shift").fit(
            X[:, :10]
        )
    # Rows of a given image shape; pretraining augments through the autoencoder's own
    # parameter.
    autoencoder = small_autoencoder(image_shape=(2, 5), augment="shift", max_iter=1)
    model = DeepClustering(5, autoencoder=autoencoder, augment="affine", max_iter=1)
    model.fit(X[:, :10])
    assert model.autoencoder_.augment == "shift" and model.autoencoder_.image_shape_ == (2, 5, 1)


def test_manifold_without_umap_learn_says_how_to_install(data, monkeypatch):
    # As if umap-learn were not installed: it cannot be found, nor imported.
    monkeypatch.setitem(sys.modules, "umap", None)
    model = DeepClustering(10, manifold="umap")
    with pytest.raises(ImportError, match="umap-learn"):
        model.fit(data[0][:50])
    assert not hasattr(model, "labels_")


# ----------------------------------------------------------------- interrupts and errors


def test_ctrl_c_in_fine_tuning_keeps_a_usable_model(pretrained, data):
    X = data[0]
    steps_per_epoch = -(-len(X) // 256)
    with interrupt_at_step(steps_per_epoch + 3), pytest.warns(UserWarning, match="interrupted"):
        model = from_pretrained(pretrained, tol=0.0).fit(X)
    assert model.n_iter_ == 2  # one epoch and 2 steps of the second
    assert model.interrupted_ is True and model.autoencoder_.interrupted_ is False
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    assert np.isfinite(model.predict_proba(X)).all()


def test_ctrl_c_in_pretraining_keeps_a_usable_model(data):
    X = data[0][:300]
    model = DeepClustering(10, autoencoder=small_autoencoder(max_iter=5), random_state=0)
    with interrupt_at_step(4), pytest.warns(UserWarning) as record:
        model.fit(X)
    # The autoencoder's own warning (how far pretraining got) passes through, then ours.
    messages = [str(w.message) for w in record]
    assert any(m.startswith("Training was interrupted after 0 complete") for m in messages)
    assert any("interrupted in pretraining" in m for m in messages)
    assert model.interrupted_ is True and model.autoencoder_.interrupted_ is True
    assert model.n_iter_ == 0 and model.label_changes_ == []
    np.testing.assert_array_equal(model.labels_, model.initial_labels_)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    model.set_params(max_iter=1).fit(X)  # a fit to the end clears it
    assert model.interrupted_ is False and model.autoencoder_.interrupted_ is False


def test_a_refused_fit_changes_nothing(pretrained, data):
    X = data[0]
    model = from_pretrained(pretrained, max_iter=1).fit(X)
    state = dict(vars(model))
    with pytest.raises(ValueError, match="n_samples=5 should be >= n_clusters=10"):
        model.fit(X[:5])
    model.set_params(init=np.zeros((3, 10)))
    with pytest.raises(ValueError, match=r"init has shape \(3, 10\)"):
        model.fit(X)
    assert vars(model).keys() == state.keys()
    assert all(vars(model)[k] is v for k, v in state.items() if k != "init")


def test_clear_errors_on_bad_input(pretrained, data):
    X = data[0][:100]
    with pytest.raises(ValueError, match="n_samples=4 should be >= n_clusters=5"):
        DeepClustering(5, autoencoder=small_autoencoder()).fit(X[:4])
    with pytest.raises(ValueError, match="prefit=True needs a fitted autoencoder"):
        DeepClustering(5, prefit=True).fit(X)
    with pytest.raises(NotFittedError, match="prefit=True needs a fitted autoencoder"):
        DeepClustering(5, autoencoder=small_autoencoder(), prefit=True).fit(X)
    with pytest.raises(TypeError, match="must be an object implementing .fit., .transform."):
        DeepClustering(5, autoencoder=PCA(3)).fit(X)
    with pytest.raises(ValueError, match="transform_layers='code'"):
        DeepClustering(5, autoencoder=small_autoencoder(transform_layers="all")).fit(X)
    with pytest.raises(ValueError, match="method"):
        DeepClustering(5, method="kmeans").fit(X)
    with pytest.raises(ValueError, match="NaN"):
        DeepClustering(5, autoencoder=small_autoencoder()).fit(np.full((20, 64), np.nan))
    model = from_pretrained(pretrained, max_iter=0).fit(data[0])
    with pytest.raises(ValueError, match="X has 10 features"):
        model.predict(X[:, :10])
    with pytest.raises(NotFittedError):
        DeepClustering().predict(X)


def test_public_names():
    # Importable from both, documented once: the API page lists sk_dae's __all__.
    assert sk_dae.DeepClustering is DeepClustering is clustering.DeepClustering
    assert "DeepClustering" in sk_dae.__all__ and "DeepClustering" not in clustering.__all__
