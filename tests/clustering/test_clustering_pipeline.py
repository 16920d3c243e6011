"""Tests of the clustering recipe: DenoisingAutoencoder, embedding step, KMeans."""

import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

from sk_dae import DenoisingAutoencoder, clustering
from sk_dae.clustering import CLUSTERING_DAE_PARAMS, make_clustering_pipeline, make_embedding
from sk_dae.clustering._deep_clustering import DEFAULT_AUTOENCODER_PARAMS
from sk_dae.metrics import clustering_accuracy

# Every fit here runs a fixed, short budget of epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(hidden_layer_sizes=(64,), max_iter=15, batch_size=64, n_threads=1)


def test_pipeline_defaults_and_overrides():
    pipe = make_clustering_pipeline(n_clusters=10, random_state=3)
    assert isinstance(pipe, Pipeline)
    assert [name for name, _ in pipe.steps] == ["dae", "embedding", "kmeans"]
    dae, step, kmeans = (s for _, s in pipe.steps)
    assert isinstance(dae, DenoisingAutoencoder) and isinstance(step, Normalizer)
    assert dae.n_components == 10 and dae.random_state == 3
    for name, value in CLUSTERING_DAE_PARAMS.items():
        assert dae.get_params()[name] == value
    assert kmeans.n_clusters == 10 and kmeans.random_state == 3

    pipe = make_clustering_pipeline(
        4, n_components=3, embedding="none", n_init=2, max_iter=7, noise="gaussian"
    )
    assert pipe.named_steps["embedding"] == "passthrough"
    assert pipe.get_params()["dae__max_iter"] == 7
    assert pipe.get_params()["dae__noise"] == "gaussian"
    assert pipe.get_params()["kmeans__n_init"] == 2
    # An ordinary pipeline: clone and set_params work.
    assert clone(pipe).set_params(dae__max_iter=2).get_params()["dae__max_iter"] == 2


@pytest.mark.parametrize("n_samples", [150, 1_000, 1_797])
def test_the_pipelines_autoencoder_trains_deep_clusterings_length_of_its_rows(n_samples):
    # A length fixed before the rows are seen loses to KMeans on the pixels somewhere:
    # 20 epochs are 80 steps of 1,000 rows. "clustering" is worked out in fit.
    X = np.random.default_rng(0).random((n_samples, 4)).astype(np.float32)
    pipe = make_clustering_pipeline(3, random_state=0, hidden_layer_sizes=(8,), tol=None)
    dae = pipe.named_steps["dae"].fit(X)
    assert dae.n_iter_ == clustering.default_pretraining_passes(n_samples)
    assert dae.n_iter_ == {150: 20, 1_000: 200, 1_797: 188}[n_samples]


def test_normalize_recipe_clusters_digits(digits_split):
    pipe = make_clustering_pipeline(10, random_state=0, **SMALL)
    labels = pipe.fit_predict(digits_split.X_train)
    assert labels.shape == (len(digits_split.X_train),)
    assert set(labels) == set(range(10))
    # The embedding step gives KMeans unit-norm codes.
    embedded = pipe[:-1].transform(digits_split.X_train)
    np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0, rtol=1e-5)
    # The same as doing it by hand with the fitted autoencoder.
    codes = pipe.named_steps["dae"].transform(digits_split.X_train)
    by_hand = KMeans(10, n_init=10, random_state=0).fit_predict(Normalizer().transform(codes))
    np.testing.assert_array_equal(labels, by_hand)
    # Far better than chance (NMI ~0 and accuracy ~0.1 for random labels).
    assert normalized_mutual_info_score(digits_split.y_train, labels) > 0.6
    assert clustering_accuracy(digits_split.y_train, labels) > 0.6
    # New rows are assigned by predict; a pickle round trip predicts the same.
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(
        restored.predict(digits_split.X_test), pipe.predict(digits_split.X_test)
    )


def test_umap_recipe_is_seeded_and_beats_raw_codes(digits_split):
    pytest.importorskip("umap")
    X, y = digits_split.X_train, digits_split.y_train
    pipe = make_clustering_pipeline(
        10, embedding="umap", embedding_params={"n_neighbors": 15}, random_state=0, **SMALL
    )
    labels = pipe.fit_predict(X)
    step = pipe.named_steps["embedding"]
    assert type(step).__name__ == "UMAP" and step.n_components == 10
    assert step.min_dist == 0.0 and step.n_neighbors == 15 and step.n_jobs == 1
    again = clone(pipe).fit_predict(X)
    np.testing.assert_array_equal(labels, again)
    raw = KMeans(10, n_init=10, random_state=0).fit_predict(pipe.named_steps["dae"].transform(X))
    assert normalized_mutual_info_score(y, labels) > normalized_mutual_info_score(y, raw)
    assert clustering_accuracy(y, labels) > clustering_accuracy(y, raw)


def test_missing_umap_is_a_clear_import_error(digits_split, monkeypatch, capsys):
    # As if umap-learn were not installed: it cannot be found, nor imported.
    monkeypatch.setitem(sys.modules, "umap", None)
    assert not clustering.umap_available()
    with pytest.raises(ImportError, match=r"sk-dae\[cluster\]"):
        make_clustering_pipeline(embedding="umap")
    # compare() refuses before fitting anything.
    from sk_dae._experiment import compare as _compare

    with pytest.raises(ImportError, match="umap-learn"):
        _compare.compare(digits_split, widths=(2,), embeddings=("umap",), progress=False)
    # The command line says so in one line, no traceback.
    from sk_dae._experiment.cli import main

    with pytest.raises(SystemExit) as info:
        main(["compare", "--embeddings", "umap", "--quiet", "--no-figures"])
    assert info.value.code == 2
    assert "umap-learn" in capsys.readouterr().err
    # Without umap-learn, compare() leaves the UMAP rows out by default.
    result = _compare.compare(
        digits_split,
        widths=(2,),
        dae_params=dict(hidden_layer_sizes=(), max_iter=1, n_threads=1),
        n_init=1,
        progress=False,
    )
    assert result.settings["embeddings"] == ["standardize", "normalize"]


def test_bad_embedding():
    with pytest.raises(ValueError, match="embedding must be one of"):
        make_embedding("tsne")
    with pytest.raises(ValueError, match="embedding must be one of"):
        make_clustering_pipeline(embedding="pca")
    with pytest.raises(TypeError, match="no parameters"):
        make_embedding("none", norm="l1")
    assert make_embedding("normalize", norm="l1").norm == "l1"


def test_pretraining_recipes_give_their_autoencoders_and_take_overrides():
    faithful = clustering.make_pretraining_autoencoder("dec-keras", max_iter=7)
    assert isinstance(faithful, DenoisingAutoencoder)
    assert (faithful.optimizer, faithful.momentum, faithful.nesterovs_momentum) == (
        "sgd",
        0.9,
        False,
    )
    assert (faithful.init, faithful.noise, faithful.max_iter) == ("fan_in", None, 7)
    default = clustering.make_pretraining_autoencoder()
    assert default.get_params() == DenoisingAutoencoder(**DEFAULT_AUTOENCODER_PARAMS).get_params()
    assert clustering.make_pretraining_autoencoder("adam").get_params() == default.get_params()
    with pytest.raises(ValueError, match="recipe must be one of"):
        clustering.make_pretraining_autoencoder("dec")
