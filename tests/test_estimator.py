"""Behaviour of DenoisingAutoencoder: every parameter and method, on small digits data."""

import io
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import torch
from conftest import fit_quiet, interrupt_at_step, short_training, small
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_dae import DenoisingAutoencoder
from sk_dae._core.data import INFERENCE_BATCH_SIZE

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def X(digits):
    """600 digits in [0, 1], float64 (read-only)."""
    return digits[0][:600]


# ----------------------------------------------------------------- what fit learns


def test_denoising_beats_the_noisy_input(digits):
    X, _ = digits
    X_train, X_test = X[:1400], X[1400:]
    dae = fit_quiet(
        small(
            noise="gaussian",
            noise_level=0.3,
            max_iter=60,
            n_components=16,
            hidden_layer_sizes=(64,),
        ),
        X_train,
    )
    noisy = np.clip(X_test + np.random.default_rng(1).normal(0, 0.3, X_test.shape), 0, 1)
    noisy_mse = np.mean((noisy - X_test) ** 2)
    denoised_mse = np.mean((dae.reconstruct(noisy) - X_test) ** 2)
    assert denoised_mse < 0.7 * noisy_mse


def test_linear_autoencoder_approaches_pca(digits):
    X, _ = digits
    X = StandardScaler().fit_transform(X)
    k = 8
    pca = PCA(n_components=k).fit(X)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)
    lae = fit_quiet(
        DenoisingAutoencoder(
            n_components=k,
            hidden_layer_sizes=(),
            activation="identity",
            noise=None,
            learning_rate_init=1e-2,
            max_iter=150,
            tol=0,
            random_state=0,
        ),
        X,
    )
    assert lae.output_activation_ == "identity"
    lae_mse = -lae.score(X)
    assert pca_mse <= lae_mse < 1.05 * pca_mse


def test_loss_decreases_and_attributes(X):
    dae = fit_quiet(small(max_iter=15), X)
    assert dae.n_iter_ == len(dae.loss_curve_) == 15
    assert dae.loss_curve_[-1] < 0.5 * dae.loss_curve_[0]
    assert dae.best_loss_ == min(dae.loss_curve_)
    assert dae.t_ == 15 * X.shape[0]
    assert dae.validation_scores_ is None and dae.best_validation_score_ is None
    assert dae.n_features_in_ == 64
    assert dae.data_min_ == X.min() and dae.data_max_ == X.max()
    assert isinstance(dae.module_, torch.nn.Module) and not dae.module_.training


def test_convergence_warning_and_tol_stop(X):
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        small(max_iter=3).fit(X)
    # An unreachable tol: only the first epoch counts as progress (from no loss at all),
    # so training stops once n_iter_no_change + 1 epochs after it made none, without a
    # warning (sklearn's MLP counts the same way).
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        dae = small(max_iter=100, tol=10.0, n_iter_no_change=3).fit(X)
    assert dae.n_iter_ == 5


def test_early_stopping_keeps_the_best_epoch(X):
    params = dict(
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        learning_rate_init=3e-2,
        tol=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # it stops on its own
        dae = small(max_iter=40, **params).fit(X)
    scores = dae.validation_scores_
    assert len(scores) == dae.n_iter_ < 40
    # Training stopped n_iter_no_change + 1 epochs after the best score, so the best
    # epoch is not the last one.
    best = int(np.argmax(scores))
    assert best == dae.n_iter_ - 1 - (params["n_iter_no_change"] + 1)
    assert dae.best_validation_score_ == scores[best] > scores[-1]
    # The kept weights are the best epoch's: those of a fit that ends with that epoch.
    reference = fit_quiet(small(max_iter=best + 1, **params), X)
    assert reference.validation_scores_ == scores[: best + 1]
    np.testing.assert_array_equal(dae.transform(X), reference.transform(X))


def test_warm_start_continues_from_fitted_weights(X):
    dae = fit_quiet(small(max_iter=10, warm_start=True), X)
    first_curve = list(dae.loss_curve_)
    encoder_weight = dae.module_.encoder[0].weight.detach().clone()
    fit_quiet(dae, X)
    assert dae.n_iter_ == 20 and dae.loss_curve_[:10] == first_curve
    # Not a fresh start: the loss goes on from where the first fit ended.
    assert dae.loss_curve_[10] < 0.5 * (first_curve[0] + first_curve[-1])
    assert not torch.equal(dae.module_.encoder[0].weight, encoder_weight)
    # Without warm_start the second fit starts anew.
    cold = fit_quiet(small(max_iter=10), X)
    fit_quiet(cold, X)
    assert cold.n_iter_ == 10 and cold.loss_curve_ == first_curve


def test_warm_start_refuses_a_changed_architecture(X):
    dae = fit_quiet(small(warm_start=True), X)
    dae.set_params(n_components=4)
    with pytest.raises(ValueError, match="warm_start"):
        dae.fit(X)


def test_partial_fit_one_epoch_per_call(X):
    dae = small()
    dae.partial_fit(X[:300])
    dae.partial_fit(X[300:])
    assert dae.n_iter_ == 2 and dae.t_ == X.shape[0]
    with pytest.raises(ValueError, match="features"):
        dae.partial_fit(X[:, :10])


# ----------------------------------------------------------------- parameters


# What each activation name means in torch.
TORCH_ACTIVATIONS = {
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "elu": torch.nn.ELU,
    "gelu": torch.nn.GELU,
    "identity": torch.nn.Identity,
}


@pytest.mark.parametrize("activation", list(TORCH_ACTIVATIONS))
def test_activations_train(X, activation):
    dae = fit_quiet(small(activation=activation, max_iter=8), X)
    assert dae.loss_curve_[-1] < dae.loss_curve_[0]
    # The hidden layer is followed by the activation; the code layer is linear.
    layers = [type(layer) for layer in dae.module_.encoder]
    assert layers == [torch.nn.Linear, TORCH_ACTIVATIONS[activation], torch.nn.Linear]


def test_output_activation_auto(X, digits):
    assert fit_quiet(small(max_iter=1), X).output_activation_ == "sigmoid"
    standardized = StandardScaler().fit_transform(digits[0])
    dae = fit_quiet(small(max_iter=1), standardized)
    assert dae.output_activation_ == "identity"
    assert dae.reconstruct(standardized).min() < 0  # not squashed into [0, 1]
    with pytest.raises(ValueError, match="sigmoid"):
        small(output_activation="sigmoid").fit(standardized)


def test_bce_loss(X, digits):
    dae = fit_quiet(small(loss="bce", max_iter=8), X)
    assert dae.output_activation_ == "sigmoid"
    assert dae.loss_curve_[-1] < dae.loss_curve_[0]
    with pytest.raises(ValueError, match=r"loss='bce' needs data in \[0, 1\]"):
        small(loss="bce").fit(StandardScaler().fit_transform(digits[0]))
    with pytest.raises(ValueError, match="output_activation"):
        small(loss="bce", output_activation="identity").fit(X)


def test_gaussian_noise_statistics_and_clipping(X):
    dae = fit_quiet(small(noise="gaussian", noise_level=0.2, max_iter=1), X)
    noisy = dae.corrupt(X, random_state=0)
    assert noisy.min() >= 0 and noisy.max() <= 1  # clipped: sigmoid output
    unclipped = fit_quiet(small(noise="gaussian", noise_level=0.2, max_iter=1), X * 4 - 2)
    diff = unclipped.corrupt(X * 4 - 2, random_state=0) - (X * 4 - 2)
    assert diff.std() == pytest.approx(0.2, rel=0.02)
    assert abs(diff.mean()) < 0.005


def test_masking_noise_statistics(X):
    Xp = X + 0.5  # no zeros, so every zero after corruption is a masked entry
    dae = fit_quiet(small(noise="masking", noise_level=0.3, max_iter=1), Xp)
    noisy = dae.corrupt(Xp, random_state=0)
    masked = noisy == 0
    assert masked.mean() == pytest.approx(0.3, abs=0.01)
    np.testing.assert_array_equal(noisy[~masked], Xp[~masked])


def test_salt_and_pepper_noise_statistics(X):
    # Train on data spanning [0, 1]; corrupt values strictly inside, so every change shows.
    Xp = X * 0.5 + 0.25
    train = np.vstack([Xp, np.zeros(64), np.ones(64)])
    dae = fit_quiet(small(noise="salt_and_pepper", noise_level=0.2, max_iter=1), train)
    noisy = dae.corrupt(Xp, random_state=0)
    changed = noisy != Xp
    assert changed.mean() == pytest.approx(0.2, abs=0.01)
    assert set(np.unique(noisy[changed])) == {0.0, 1.0}
    assert (noisy == 0).mean() == pytest.approx((noisy == 1).mean(), abs=0.01)


def test_noise_none_is_a_plain_autoencoder(X):
    dae = fit_quiet(small(noise=None, max_iter=2), X)
    np.testing.assert_array_equal(dae.corrupt(X), X)


def test_corrupt_is_seeded_and_leaves_input_alone(X):
    dae = fit_quiet(small(noise="masking", noise_level=0.5, max_iter=1), X)
    X_copy = X.copy()
    a, b = dae.corrupt(X, random_state=3), dae.corrupt(X, random_state=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, dae.corrupt(X, random_state=4))
    np.testing.assert_array_equal(X, X_copy)
    assert a.dtype == np.float64 and dae.corrupt(X.astype(np.float32)).dtype == np.float32


def test_noise_level_fraction_must_be_at_most_one(X):
    with pytest.raises(ValueError, match="noise_level must be a fraction"):
        small(noise="masking", noise_level=1.5).fit(X)


def test_tied_weights_share_the_encoder_matrices(X):
    tied = fit_quiet(small(tied_weights=True, hidden_layer_sizes=(32, 16)), X)
    untied = fit_quiet(small(hidden_layer_sizes=(32, 16)), X)
    n_tied = sum(p.numel() for p in tied.module_.parameters())
    n_untied = sum(p.numel() for p in untied.module_.parameters())
    assert n_untied - n_tied == 64 * 32 + 32 * 16 + 16 * 8
    assert "tied" in tied.summary()


def test_batch_norm_and_dropout_layers(X):
    dae = fit_quiet(small(batch_norm=True, dropout=0.2, hidden_layer_sizes=(32, 16)), X)
    names = [type(m).__name__ for m in dae.module_.modules()]
    assert names.count("BatchNorm1d") == 4 and names.count("Dropout") == 4
    # eval mode: transform is deterministic despite dropout
    np.testing.assert_array_equal(dae.transform(X), dae.transform(X))


def test_batch_norm_with_a_lone_last_row(X):
    # 33 rows, batch 16: the lone 33rd row joins the previous batch.
    dae = fit_quiet(small(batch_norm=True, batch_size=16, max_iter=2), X[:33])
    assert dae.t_ == 66


def _weight_norm(dae, order):
    return sum(p.abs().pow(order).sum().item() for p in dae.module_.parameters() if p.ndim == 2)


def test_alpha_and_l1_shrink_the_weights(X):
    base = fit_quiet(small(max_iter=15), X)
    l2 = fit_quiet(small(max_iter=15, alpha=0.1), X)
    l1 = fit_quiet(small(max_iter=15, l1=1e-3), X)
    assert _weight_norm(l2, 2) < 0.8 * _weight_norm(base, 2)
    assert _weight_norm(l1, 1) < 0.8 * _weight_norm(base, 1)


@pytest.mark.parametrize("optimizer,lr", [("adam", 1e-3), ("adamw", 1e-3), ("sgd", 0.5)])
def test_optimizers(X, optimizer, lr):
    dae = fit_quiet(small(optimizer=optimizer, learning_rate_init=lr, max_iter=20), X)
    assert dae.loss_curve_[-1] < dae.loss_curve_[0]
    # It learns structure beyond the mean row the output starts at.
    assert -dae.score(X) < 0.9 * float(np.mean(X.var(axis=0)))


def test_batch_size_and_shuffle(X):
    a = fit_quiet(small(batch_size=50, shuffle=False, max_iter=3), X)
    b = fit_quiet(small(batch_size=50, shuffle=False, max_iter=3), X)
    c = fit_quiet(small(batch_size=50, shuffle=True, max_iter=3), X)
    d = fit_quiet(small(batch_size=600, shuffle=False, max_iter=3), X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.array_equal(a.transform(X), c.transform(X))
    # 12 steps per epoch learn more than 1 step per epoch
    assert a.loss_curve_[-1] < d.loss_curve_[-1]


def test_random_state_is_bit_identical_and_leaves_global_rng_alone(X):
    np.random.seed(123)
    torch.manual_seed(123)
    np_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    params = dict(dropout=0.1, noise="salt_and_pepper", noise_level=0.2, early_stopping=True)
    a = fit_quiet(small(**params), X)
    b = fit_quiet(small(**params), X)
    none = fit_quiet(small(random_state=None, **params), X)
    a.corrupt(X)
    none.transform(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.transform(X), none.transform(X))
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_random_state_instance(X):
    rs = np.random.RandomState(0)
    a = fit_quiet(small(random_state=rs, max_iter=2), X)
    b = fit_quiet(small(random_state=rs, max_iter=2), X)
    assert not np.array_equal(a.transform(X), b.transform(X))


def test_verbose_prints_one_line_per_epoch_off_a_terminal(X, capsys):
    fit_quiet(small(verbose=1, max_iter=3, early_stopping=True), X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"DenoisingAutoencoder: epoch {epoch}/3, loss = ")
        assert ", validation MSE = " in line


def test_verbose_shows_a_progress_bar_on_a_terminal(X, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    fit_quiet(small(verbose=1, max_iter=3, early_stopping=True), X)
    shown = terminal.getvalue()
    assert "DenoisingAutoencoder" in shown and "loss=" in shown and "val_mse=" in shown
    assert "3/3" in shown


def test_not_verbose_prints_nothing(X, capsys):
    fit_quiet(small(max_iter=3), X)
    assert capsys.readouterr() == ("", "")


def _without_cuda(monkeypatch):
    """Make this process look like a machine without a CUDA GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_device_cpu_trains_and_keeps_the_model_on_the_cpu(X):
    dae = fit_quiet(small(device="cpu", max_iter=1), X)
    assert dae.device_ == torch.device("cpu")
    assert {p.device.type for p in dae.module_.parameters()} == {"cpu"}


def test_device_auto_is_the_cpu_without_cuda(X, monkeypatch):
    _without_cuda(monkeypatch)
    assert fit_quiet(small(device="auto", max_iter=1), X).device_ == torch.device("cpu")


@requires_cuda
def test_device_auto_is_cuda_when_available(X):
    dae = fit_quiet(small(device="auto", max_iter=1), X)
    assert dae.device_.type == "cuda"
    assert {p.device.type for p in dae.module_.parameters()} == {"cuda"}


def test_unknown_device_is_refused(X):
    with pytest.raises(ValueError, match="device='gpu-please' is not a torch device"):
        small(device="gpu-please").fit(X)


def test_cuda_on_a_machine_without_cuda_is_refused(X, monkeypatch):
    _without_cuda(monkeypatch)
    with pytest.raises(ValueError, match="device='cuda' was asked for, but CUDA is not available"):
        small(device="cuda").fit(X)


# ----------------------------------------------------------------- methods


def test_transform_inverse_transform_and_dtypes(X):
    dae = fit_quiet(small(), X)
    Z = dae.transform(X)
    assert Z.shape == (X.shape[0], 8) and Z.dtype == np.float64
    assert dae.transform(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(dae.transform(X.astype(np.float32)), Z, rtol=1e-4, atol=1e-5)
    X_back = dae.inverse_transform(Z)
    assert X_back.shape == X.shape
    np.testing.assert_allclose(X_back, dae.reconstruct(X), rtol=1e-6, atol=1e-7)
    with short_training():
        np.testing.assert_allclose(dae.fit_transform(X), Z)
    with pytest.raises(ValueError, match="n_components=8"):
        dae.inverse_transform(Z[:, :3])


def test_transform_does_not_depend_on_how_rows_are_batched(X):
    dae = fit_quiet(small(), X)
    # More rows than one inference batch: the rows past it are the same digits again,
    # and give what they give in a transform of their own.
    n_rows = INFERENCE_BATCH_SIZE + len(X) // 2
    repeats = -(-n_rows // len(X))
    big = np.concatenate([X] * repeats)[:n_rows]
    expected = np.concatenate([dae.transform(X)] * repeats)[:n_rows]
    np.testing.assert_allclose(dae.transform(big), expected, rtol=1e-12, atol=1e-12)


def test_score_and_score_samples(X):
    dae = fit_quiet(small(), X)
    rec = dae.reconstruct(X)
    per_row = -np.mean((rec - X) ** 2, axis=1)
    np.testing.assert_allclose(dae.score_samples(X), per_row, rtol=1e-10)
    assert dae.score(X) == pytest.approx(-np.mean((rec - X) ** 2), rel=1e-10)
    # an outlier scores lower than every digit
    outlier = np.where(np.arange(64) % 2, 1.0, 0.0)[None, :]
    assert dae.score_samples(outlier)[0] < dae.score_samples(X).min()


def test_feature_names_and_pandas_output(X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    dae = fit_quiet(small(n_components=3), frame)
    assert list(dae.feature_names_in_) == list(frame.columns)
    names = dae.get_feature_names_out()
    assert list(names) == [
        "denoisingautoencoder0",
        "denoisingautoencoder1",
        "denoisingautoencoder2",
    ]
    out = dae.set_output(transform="pandas").transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(names)


def test_summary_counts_parameters(X):
    dae = fit_quiet(small(hidden_layer_sizes=(32,)), X)
    text = dae.summary()
    total = sum(p.numel() for p in dae.module_.parameters())
    assert f"total parameters: {total:,}" in text
    assert "(-1, 32)" in text and "(-1, 8)" in text and "sigmoid" in text


# ----------------------------------------------------------------- sklearn glue


def test_pipeline_gridsearch_and_cross_val(digits):
    X, y = digits
    X, y = X[:500], y[:500]
    pipe = Pipeline(
        [
            ("dae", small(n_components=16, max_iter=30, learning_rate_init=3e-3)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    with short_training():
        search = GridSearchCV(pipe, {"dae__noise_level": [0.1, 0.3]}, cv=2, n_jobs=2)
        search.fit(X, y)
        scores = cross_val_score(pipe, X, y, cv=2)
    # chance is 0.1; the codes must carry most of the class information
    assert search.best_score_ > 0.75
    assert scores.mean() > 0.75
    fitted = search.best_estimator_
    assert fitted.named_steps["dae"].n_iter_ > 0
    clone_ = clone(fitted)
    assert not hasattr(clone_.named_steps["dae"], "module_")
    assert clone_.set_params(dae__n_components=4).get_params()["dae__n_components"] == 4


def test_grid_search_without_labels_prefers_better_reconstructions(X):
    search = GridSearchCV(small(max_iter=10), {"n_components": [1, 16]}, cv=2)
    with short_training():
        search.fit(X)
    assert search.best_params_ == {"n_components": 16}


def test_pickle_and_joblib_round_trip_in_a_new_process(X, tmp_path):
    dae = fit_quiet(small(batch_norm=True, tied_weights=True, device="cpu"), X)
    path = tmp_path / "model.joblib"
    joblib.dump(dae, path)
    np.save(tmp_path / "X.npy", X)
    expected = dae.transform(X)
    code = textwrap.dedent(f"""
        import joblib, numpy as np, pickle
        model = joblib.load({str(path)!r})
        X = np.load({str(tmp_path / "X.npy")!r})
        np.save({str(tmp_path / "Z.npy")!r}, model.transform(X))
        again = pickle.loads(pickle.dumps(model))
        assert np.array_equal(again.transform(X), model.transform(X))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "Z.npy"), expected)
    loaded = pickle.loads(pickle.dumps(dae))
    np.testing.assert_array_equal(loaded.transform(X), expected)
    assert loaded.device_ == torch.device("cpu")


def test_pickle_of_a_cuda_model_loads_on_cpu(X, monkeypatch):
    dae = fit_quiet(small(device="cpu"), X)
    state = dae.__getstate__()
    state["device_"] = "cuda:0"  # as a GPU-fitted model would be pickled
    _without_cuda(monkeypatch)
    restored = DenoisingAutoencoder.__new__(DenoisingAutoencoder)
    restored.__setstate__(state)
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_array_equal(restored.transform(X), dae.transform(X))


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.full((2, 2), np.nan), "every entry is missing"),
        (np.array([[0.1, np.inf], [0.2, 0.3]]), "infinity"),
        (np.array([0.1, 0.2, 0.3]), "Expected 2D array"),
        (np.empty((0, 4)), "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
    ],
)
def test_bad_training_data(bad, match):
    with pytest.raises(ValueError, match=match):
        small().fit(bad)


@pytest.mark.parametrize(
    "params,match",
    [
        ({"n_components": 0}, "n_components"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": "big"}, "hidden_layer_sizes"),
        ({"noise": "pink"}, "noise"),
        ({"activation": "swish"}, "activation"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"dropout": 1.0}, "dropout"),
        ({"batch_size": 0}, "batch_size"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_invalid_parameters(X, params, match):
    with pytest.raises(ValueError, match=match):
        small(**params).fit(X)


def test_not_fitted_and_wrong_width(X):
    dae = small()
    for method in (
        dae.transform,
        dae.inverse_transform,
        dae.reconstruct,
        dae.score,
        dae.score_samples,
        dae.corrupt,
    ):
        with pytest.raises(NotFittedError):
            method(X)
    with pytest.raises(NotFittedError):
        dae.summary()
    fit_quiet(dae, X)
    with pytest.raises(
        ValueError, match="X has 10 features, but DenoisingAutoencoder is expecting 64"
    ):
        dae.transform(X[:, :10])


def test_failed_fit_leaves_the_fitted_model_unchanged(X):
    dae = fit_quiet(small(), X)
    before = dae.transform(X)
    state = {k: v for k, v in vars(dae).items() if k != "module_"}
    bad = X.copy()
    bad[3, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        dae.fit(bad)
    with pytest.raises(ValueError, match="loss='bce'"):
        dae.set_params(loss="bce").fit(X * 3)  # fails after validate_data has run
    dae.set_params(loss="mse")
    assert vars(dae).keys() - {"module_"} == state.keys()
    assert dae.n_features_in_ == 64
    np.testing.assert_array_equal(dae.transform(X), before)


def test_divergence_names_the_cause(X):
    huge = X * 1e6
    dae = small(
        optimizer="sgd",
        learning_rate_init=10.0,
        output_activation="identity",
        max_iter=5,
        noise=None,
    )
    with pytest.raises(ValueError, match="diverged.*learning_rate_init=10.0"):
        dae.fit(huge)
    assert not hasattr(dae, "module_")


def test_float64_transform_follows_the_network_trained_in_place(X):
    # A user fine-tuning dae.module_ with a fused optimizer (which leaves tensor versions
    # unchanged) must see the new weights in float64 results too.
    dae = fit_quiet(small(max_iter=2), X)
    before = dae.transform(X)  # float64: computed by a float64 copy of the network
    optimizer = torch.optim.Adam(dae.module_.parameters(), lr=0.1, fused=True)
    dae.module_(torch.as_tensor(X, dtype=torch.float32)).pow(2).mean().backward()
    optimizer.step()
    after = dae.transform(X)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, dae.transform(X.astype(np.float32)), atol=1e-4)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_interrupted_tells_whether_the_last_call_was_ended_by_ctrl_c(X, method):
    dae = small(max_iter=3)  # 600 rows, 64 a batch: 10 steps an epoch
    with interrupt_at_step(4), pytest.warns(UserWarning, match="interrupted"):
        getattr(dae, method)(X)
    assert dae.interrupted_ is True
    with short_training():
        getattr(dae, method)(X)
    assert dae.interrupted_ is False
    assert pickle.loads(pickle.dumps(dae)).interrupted_ is False


def test_sgd_momentum_settings_change_the_training(X):
    params = dict(optimizer="sgd", learning_rate_init=0.1, max_iter=5, random_state=0)
    heavy_ball = fit_quiet(small(**params, nesterovs_momentum=False), X)
    nesterov = fit_quiet(small(**params), X)
    plain = fit_quiet(small(**params, momentum=0.0), X)
    assert heavy_ball._optimizer.param_groups[0]["nesterov"] is False
    codes = [m.transform(X) for m in (heavy_ball, nesterov, plain)]
    assert not np.allclose(codes[0], codes[1]) and not np.allclose(codes[1], codes[2])
    # Momentum speeds SGD up at a small step size.
    assert plain.loss_curve_[-1] > nesterov.loss_curve_[-1]


def test_fan_in_init_starts_with_smaller_weights_than_glorot_near_the_code(X):
    fan_in = fit_quiet(small(init="fan_in", max_iter=1, learning_rate_init=1e-12), X)
    glorot = fit_quiet(small(init="random", max_iter=1, learning_rate_init=1e-12), X)
    # The layer into the code is wide on the input side: 1/sqrt(fan_in) is below
    # Glorot's bound there.
    into_code = [float(m.module_.encoder[-1].weight.detach().abs().max()) for m in (fan_in, glorot)]
    assert into_code[0] < into_code[1]
