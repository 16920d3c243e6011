"""Faults and hostile input: nothing crashes, hangs, returns NaN silently or is lost.

* Interrupts (``KeyboardInterrupt``) are injected at chosen optimizer steps.
* Divergence is caused by data or learning rates that make the loss non-finite.
* Hostile input is drawn by hypothesis (shapes, dtypes, magnitudes, containers) and listed
  case by case in ``HOSTILE_CASES``.
* ``transform`` runs from several threads at once.

Set ``SK_DAE_ROBUSTNESS_REPORT=<directory>`` to have the counts (cases tried, faults
injected, models lost) written there as ``test_robustness.json``.
"""

import collections
import contextlib
import copy
import json
import os
import pickle
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

import sk_dae._estimator
from sk_dae import DenoisingAutoencoder

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # sklearn's own, legitimate warnings about frames versus arrays.
    pytest.mark.filterwarnings("ignore:X has feature names:UserWarning"),
    pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning"),
    # sklearn's finiteness check sums X first; inf + -inf warns before its clear ValueError.
    pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning"),
]

COUNTS = collections.Counter()

# Words that betray an error from deep inside torch or numpy instead of a message
# written for the user.
TORCH_WORDS = ("torch.", "Tensor", "mat1", "mat2", "aten::", "size mismatch")


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    directory = os.environ.get("SK_DAE_ROBUSTNESS_REPORT")
    if directory:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "test_robustness.json"), "w") as file:
            json.dump(dict(sorted(COUNTS.items())), file, indent=1)


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data[:200] / 16).astype(np.float32)


@pytest.fixture(scope="module")
def standardized():
    return StandardScaler().fit_transform(load_digits().data[:200]).astype(np.float32)


def _small(**params):
    defaults = dict(
        n_components=3, hidden_layer_sizes=(12,), batch_size=50, max_iter=4, random_state=0
    )
    return DenoisingAutoencoder(**{**defaults, **params})


def _quiet_fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def _weights(estimator):
    return {k: v.clone() for k, v in estimator.module_.state_dict().items()}


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _optimizer_tensors(estimator):
    state = estimator._optimizer.state_dict()["state"]
    return {(i, k): v.clone() for i, s in state.items() for k, v in s.items()}


def _snapshot(estimator):
    """Everything that defines a (fitted) estimator, as comparable values."""
    plain = {
        k: copy.deepcopy(v)
        for k, v in vars(estimator).items()
        if k not in ("module_", "_optimizer", "_generator")
    }
    if hasattr(estimator, "module_"):
        plain["weights"] = _weights(estimator)
        plain["optimizer"] = _optimizer_tensors(estimator)
    return plain


def _assert_unchanged(before, after):
    assert before.keys() == after.keys()
    for key in before:
        if key in ("weights", "optimizer"):
            assert _same_weights(before[key], after[key]), key
        elif isinstance(before[key], np.ndarray):
            np.testing.assert_array_equal(before[key], after[key])
        else:
            assert before[key] == after[key], key


@contextlib.contextmanager
def interrupt_at_step(n):
    """Raise ``KeyboardInterrupt`` in the ``n``-th optimizer step (1-based) of the fit.

    The optimizer is wrapped where the estimator creates it, so the injection does not
    depend on how the training loop is written.
    """
    real = sk_dae._estimator.make_optimizer
    calls = [0]

    def make_optimizer(*args, **kwargs):
        optimizer = real(*args, **kwargs)
        step = optimizer.step

        def interrupting_step(*a, **k):
            calls[0] += 1
            if calls[0] == n:
                COUNTS["faults injected: KeyboardInterrupt"] += 1
                raise KeyboardInterrupt
            return step(*a, **k)

        optimizer.step = interrupting_step
        return optimizer

    sk_dae._estimator.make_optimizer = make_optimizer
    try:
        yield calls
    finally:
        sk_dae._estimator.make_optimizer = real


# ------------------------------------------------------------------- interrupts

STEPS_PER_EPOCH = 4  # 200 rows, batch_size=50


@pytest.mark.parametrize("step", [1, 3, 4, 5, 6, 9, 11, 13, 16])
def test_interrupt_keeps_the_best_weights_and_warns(digits, step):
    model = _small(max_iter=4)
    complete = (step - 1) // STEPS_PER_EPOCH
    with interrupt_at_step(step):
        if complete == 0:
            with pytest.raises(KeyboardInterrupt):
                model.fit(digits)
        else:
            with pytest.warns(UserWarning, match=f"interrupted after {complete} complete"):
                model.fit(digits)
    if complete == 0:
        # Nothing worth keeping: the interrupt propagates and the model stays unfitted.
        with pytest.raises(NotFittedError):
            check_is_fitted(model)
        assert set(vars(model)) == set(model.get_params())
        return
    assert model.n_iter_ == complete == len(model.loss_curve_)
    best = int(np.argmin(model.loss_curve_))
    # The kept weights are exactly those after the best epoch of an uninterrupted fit.
    reference = _quiet_fit(_small(max_iter=best + 1), digits)
    assert reference.loss_curve_ == model.loss_curve_[: best + 1]
    assert _same_weights(_weights(model), _weights(reference))
    assert np.isfinite(model.transform(digits)).all()
    COUNTS["models kept after an interrupt"] += 1


def test_warm_start_continues_after_an_interrupt(digits, tmp_path):
    model = _small(max_iter=5)
    with interrupt_at_step(2 * STEPS_PER_EPOCH + 2):
        with pytest.warns(UserWarning, match="interrupted after 2 complete"):
            model.fit(digits)
    curve = list(model.loss_curve_)
    # The interrupted model is a whole model: it survives pickling and save/load.
    model.save(tmp_path / "m.safetensors")
    for copy_ in (
        pickle.loads(pickle.dumps(model)),
        DenoisingAutoencoder.load(tmp_path / "m.safetensors"),
    ):
        np.testing.assert_array_equal(copy_.transform(digits), model.transform(digits))
    model.set_params(warm_start=True, max_iter=3)
    _quiet_fit(model, digits)
    assert model.n_iter_ == 5
    assert model.loss_curve_[:2] == curve
    assert model.loss_curve_[2] < curve[0]


def test_interrupt_with_early_stopping_keeps_the_best_validation_weights(digits):
    params = dict(early_stopping=True, batch_size=45)  # 180 train rows: 4 steps an epoch
    model = _small(**params, max_iter=5)
    with interrupt_at_step(3 * 4 + 2):
        with pytest.warns(UserWarning, match="interrupted after 3 complete"):
            model.fit(digits)
    assert len(model.validation_scores_) == model.n_iter_ == 3
    # An uninterrupted 3-epoch fit restores its best epoch at the end.
    reference = _quiet_fit(_small(**params, max_iter=3), digits)
    assert reference.validation_scores_ == model.validation_scores_
    assert _same_weights(_weights(model), _weights(reference))


def test_interrupt_in_the_first_epoch_of_a_warm_start_changes_nothing(digits):
    model = _quiet_fit(_small(warm_start=True, max_iter=2), digits)
    before = _snapshot(model)
    with interrupt_at_step(2), pytest.raises(KeyboardInterrupt):
        model.fit(digits)
    _assert_unchanged(before, _snapshot(model))
    _quiet_fit(model, digits)  # and it still trains
    assert model.n_iter_ == 4


def test_interrupt_in_partial_fit_changes_nothing(digits):
    model = _small()
    with interrupt_at_step(1), pytest.raises(KeyboardInterrupt):
        model.partial_fit(digits)
    assert set(vars(model)) == set(model.get_params())
    model.partial_fit(digits)
    before = _snapshot(model)
    with interrupt_at_step(3), pytest.raises(KeyboardInterrupt):
        model.partial_fit(digits)
    _assert_unchanged(before, _snapshot(model))


def test_interrupt_outside_the_training_loop_changes_nothing(digits, monkeypatch):
    model = _quiet_fit(_small(warm_start=True, max_iter=2), digits)
    before = _snapshot(model)

    def interrupted(*args, **kwargs):
        COUNTS["faults injected: KeyboardInterrupt"] += 1
        raise KeyboardInterrupt

    for name in ("validate_data", "Corruptor", "training_tensors"):
        with monkeypatch.context() as patch:
            patch.setattr(sk_dae._estimator, name, interrupted)
            with pytest.raises(KeyboardInterrupt):
                model.fit(digits)
        _assert_unchanged(before, _snapshot(model))


# ------------------------------------------------------------------- divergence


@pytest.mark.parametrize(
    "make_diverge",
    [
        lambda X: (X * 1e30, {}),
        lambda X: (X * 1e19, {}),
        lambda X: (X, dict(optimizer="sgd", learning_rate_init=1e12)),
    ],
    ids=["huge-data", "squares-overflow", "huge-sgd-learning-rate"],
)
def test_divergence_raises_and_leaves_nothing_half_written(standardized, make_diverge):
    X, params = make_diverge(standardized)
    model = _small(**params)
    COUNTS["faults injected: divergence"] += 1
    with pytest.raises(ValueError, match="Training diverged.*learning_rate_init"):
        model.fit(X)
    assert set(vars(model)) == set(model.get_params())  # not even n_features_in_

    # A fitted model that is refit (warm_start=False) and diverges stays as it was.
    fitted = _quiet_fit(_small(), standardized).set_params(**params)
    before = _snapshot(fitted)
    COUNTS["faults injected: divergence"] += 1
    with pytest.raises(ValueError, match="Training diverged"):
        fitted.fit(X)
    _assert_unchanged(before, _snapshot(fitted))


def test_divergence_with_warm_start_restores_the_previous_model(standardized):
    model = _quiet_fit(_small(warm_start=True), standardized)
    before = _snapshot(model)
    reference = model.transform(standardized)
    COUNTS["faults injected: divergence"] += 1
    with pytest.raises(ValueError, match=r"Training diverged.*range over \[-3.*e\+31"):
        model.fit(standardized * 1e31)
    _assert_unchanged(before, _snapshot(model))  # optimizer moments included
    np.testing.assert_array_equal(model.transform(standardized), reference)
    # It still trains: a poisoned optimizer state would make every later fit diverge.
    _quiet_fit(model, standardized)
    assert np.isfinite(model.loss_curve_).all() and model.n_iter_ == 8


def test_divergence_in_partial_fit_restores_the_previous_model(standardized):
    model = _small().partial_fit(standardized)
    before = _snapshot(model)
    COUNTS["faults injected: divergence"] += 1
    with pytest.raises(ValueError, match="Training diverged"):
        model.partial_fit(standardized * 1e30)
    _assert_unchanged(before, _snapshot(model))
    model.partial_fit(standardized)
    assert np.isfinite(model.loss_curve_).all()


# ------------------------------------------------------------------- hostile input

rng = np.random.default_rng(0)
_BASE = rng.normal(size=(6, 4))


def _frame(columns):
    return pd.DataFrame(_BASE[:, : len(columns)], columns=columns)


# name: (input, expected outcome for fit, and for transform on a model fitted on 4
# features). Outcomes: "ok", or (exception type, a fragment of its message).
HOSTILE_CASES = {
    "list of lists": (_BASE.tolist(), "ok", "ok"),
    "tuple of tuples": (tuple(map(tuple, _BASE)), "ok", "ok"),
    "int8": (_BASE.astype(np.int8), "ok", "ok"),
    "uint64 huge": (np.full((3, 4), 2**63, dtype=np.uint64), (ValueError, "diverged"), "ok"),
    "float16": (_BASE.astype(np.float16), "ok", "ok"),
    "float16 max": (np.full((3, 4), 65504, np.float16), "ok", "ok"),
    "bool": (_BASE > 0, "ok", "ok"),
    "object numbers": (_BASE.astype(object), "ok", "ok"),
    "object strings": (np.full((3, 4), "a", dtype=object), (ValueError, "convert string"), None),
    "complex": (_BASE + 1j, (ValueError, "Complex data not supported"), None),
    "tiny": (_BASE * 1e-300, "ok", "ok"),
    "subnormal float32": (np.full((3, 4), 1e-44, np.float32), "ok", "ok"),
    "huge float64": (_BASE * 1e300, (ValueError, "beyond the float32 range"), "ok"),
    "float32 near max": (
        np.full((3, 4), 3e38, np.float32),
        (ValueError, "diverged"),
        (ValueError, "overflowed"),
    ),
    "nan": (np.where(_BASE > 1, np.nan, _BASE), (ValueError, "NaN"), None),
    "inf": (np.where(_BASE > 1, np.inf, _BASE), (ValueError, "infinity"), None),
    "1-d": (_BASE[:, 0], (ValueError, "Expected 2D array"), None),
    "3-d": (_BASE[:, :, None], (ValueError, "dim 3"), None),
    "scalar": (3.0, (ValueError, "Expected 2D array"), None),
    "None": (None, (ValueError, "Expected 2D array"), None),
    "string": ("data.csv", (ValueError, "convert string"), None),
    "ragged list": ([[1.0, 2.0], [3.0]], (ValueError, "inhomogeneous"), None),
    "zero rows": (_BASE[:0], (ValueError, "0 sample"), None),
    "zero columns": (_BASE[:, :0], (ValueError, "0 feature"), None),
    "frame without columns": (pd.DataFrame(index=range(3)), (ValueError, "0 feature"), None),
    "one row": (_BASE[:1], "ok", "ok"),
    "wrong width": (_BASE[:, :3], "ok", (ValueError, "features")),
    "csr": (sp.csr_matrix(_BASE), (TypeError, "Sparse data was passed"), None),
    "csc": (sp.csc_matrix(_BASE), (TypeError, "Sparse data was passed"), None),
    "coo array": (sp.coo_array(_BASE), (TypeError, "Sparse data was passed"), None),
    "frame odd names": (_frame(["", " ", "é\n", "x" * 500]), "ok", "ok"),
    "frame int names": (_frame([0, 1, 2, 3]), "ok", "ok"),
    "frame mixed names": (_frame(["a", 1, "c", "d"]), (TypeError, "string names"), None),
    "frame duplicate names": (_frame(["a", "a", "b", "c"]), (ValueError, "unique"), None),
    "frame tuple names": (
        _frame([("a", 1), ("b", 2), ("c", 3), ("d", 4)]),
        "ok",
        "ok",
    ),
    "frame string column": (_frame(list("abcd")).assign(d="x"), (ValueError, "convert"), None),
    "frame nullable ints with NA": (
        pd.DataFrame(
            {
                "a": pd.array([1, None, 3], dtype="Int64"),
                "b": [1, 2, 3],
                "c": [0, 1, 0],
                "d": [1, 1, 1],
            }
        ),
        (ValueError, "NaN"),
        None,
    ),
    "frame categorical": (_frame(list("abcd")).astype("category"), "ok", "ok"),
}


@pytest.fixture(scope="module")
def fitted4():
    return _quiet_fit(_small(hidden_layer_sizes=(5,), n_components=2, max_iter=2), _BASE)


def _check_outcome(call, expected):
    COUNTS["hostile cases tried (listed)"] += 1
    if expected == "ok":
        out = call()
        out = np.asarray(out)
        assert out.dtype in (np.float32, np.float64)
        assert np.isfinite(out).all()
        return out
    exc_type, fragment = expected
    with pytest.raises(exc_type, match=fragment) as info:
        call()
    assert not any(word in str(info.value) for word in TORCH_WORDS), str(info.value)
    assert "torch" not in type(info.value).__module__


@pytest.mark.parametrize("name", list(HOSTILE_CASES))
def test_listed_hostile_input(name, fitted4):
    X, fit_outcome, transform_outcome = HOSTILE_CASES[name]
    model = _small(hidden_layer_sizes=(5,), n_components=2, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = _check_outcome(lambda: model.fit_transform(X), fit_outcome)
    if fit_outcome == "ok":
        assert out.shape == (np.shape(X)[0], 2)
    else:
        assert set(vars(model)) == set(model.get_params())
    if transform_outcome is None:
        transform_outcome = fit_outcome
    _check_outcome(lambda: fitted4.transform(X), transform_outcome)


def test_batch_norm_refuses_one_row_batches_clearly():
    message = "batch_norm=True needs at least 2 rows per batch"
    for params, n_rows in ((dict(), 1), (dict(batch_size=1), 6), (dict(early_stopping=True), 2)):
        model = _small(batch_norm=True, **params)
        COUNTS["hostile cases tried (listed)"] += 1
        with pytest.raises(ValueError, match=message):
            model.fit(_BASE[:n_rows])
    _quiet_fit(_small(batch_norm=True, batch_size=3), _BASE[:4])  # a lone last row is merged


DTYPES = [
    np.int8,
    np.uint8,
    np.int64,
    np.float16,
    np.float32,
    np.float64,
    np.bool_,
    object,
    np.complex128,
]
MAGNITUDES = [0.0, 1e-300, 1e-40, 1e-8, 1.0, 1.0, 1.0, 1e8, 1e19, 1e30, 3e38, 1e300]


@st.composite
def hostile_inputs(draw):
    ndim = draw(st.integers(0, 8).map([0, 1, 2, 2, 2, 2, 2, 2, 3].__getitem__))
    sizes = st.sampled_from([0, 1, 2, 3, 4, 5])
    shape = tuple(draw(st.lists(sizes, min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(DTYPES))
    base = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1, allow_nan=False, width=64)))
    values = np.asarray(base * draw(st.sampled_from(MAGNITUDES)))
    special = draw(st.sampled_from([None] * 5 + [np.nan, np.inf, -np.inf]))
    if special is not None and values.size:
        values.flat[draw(st.integers(0, values.size - 1))] = special
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = values.astype(dtype)
    container = draw(st.sampled_from(["array", "list", "frame", "csr", "coo", "fortran"]))
    if container == "list":
        return X.tolist()
    if container == "fortran":
        return np.asfortranarray(X)
    if ndim == 2 and container == "frame":
        names = draw(
            st.lists(st.text(max_size=6), min_size=shape[1], max_size=shape[1], unique=True)
        )
        return pd.DataFrame(X, columns=names)
    if ndim == 2 and container in ("csr", "coo") and dtype not in (object, np.float16):
        return sp.csr_matrix(X) if container == "csr" else sp.coo_array(X)
    return X


def _outcome(call):
    """Run ``call``: the kind of acceptable outcome, or fail the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out = np.asarray(call())
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert "at least one array or dtype" not in message  # numpy's words, not ours
        assert message and not any(word in message for word in TORCH_WORDS), message
        assert "torch" not in type(exc).__module__
        return type(exc).__name__
    assert out.dtype in (np.float32, np.float64), out.dtype
    assert np.isfinite(out).all(), "silent non-finite output"
    return "works"


_fitted_by_width = {}


def _fitted_on(width):
    if width not in _fitted_by_width:
        X = np.random.default_rng(width).normal(size=(8, width))
        _fitted_by_width[width] = _quiet_fit(
            _small(hidden_layer_sizes=(3,), n_components=2, max_iter=2), X
        )
    return _fitted_by_width[width]


@settings(
    max_examples=50,
    deadline=5000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    X=hostile_inputs(),
    params=st.sampled_from(
        [
            {},
            dict(batch_norm=True),
            dict(early_stopping=True),
            dict(loss="bce"),
            dict(noise="salt_and_pepper", noise_level=0.5),
        ]
    ),
)
def test_hypothesis_hostile_input_fit(X, params):
    model = _small(hidden_layer_sizes=(3,), n_components=2, max_iter=2, **params)
    outcome = _outcome(lambda: model.fit_transform(X))
    COUNTS[f"hypothesis fit: {outcome}"] += 1
    if outcome != "works":
        assert set(vars(model)) == set(model.get_params())  # nothing half-fitted


@settings(max_examples=60, deadline=5000, derandomize=True, database=None)
@given(
    X=hostile_inputs(),
    method=st.sampled_from(
        ["transform", "reconstruct", "score_samples", "inverse_transform", "corrupt"]
    ),
)
def test_hypothesis_hostile_input_inference(X, method):
    width = np.shape(X)[1] if np.ndim(X) == 2 and np.shape(X)[1] > 0 else 4
    model = _fitted_on(2 if method == "inverse_transform" else width)
    outcome = _outcome(lambda: getattr(model, method)(X))
    COUNTS[f"hypothesis {method}: {outcome}"] += 1


# ------------------------------------------------------------------- threads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [None, 1])
def test_transform_from_many_threads_equals_serial(dtype, n_threads):
    torch.set_num_threads(2)
    X = np.random.default_rng(0).normal(size=(600, 20)).astype(dtype)
    model = _quiet_fit(
        _small(hidden_layer_sizes=(16,), n_components=4, max_iter=1, n_threads=n_threads), X
    )
    torch_threads = torch.get_num_threads()
    serial = {m: getattr(model, m)(X) for m in ("transform", "reconstruct")}
    start = threading.Barrier(8)

    def work(i):
        start.wait()
        method = ("transform", "reconstruct")[i % 2]
        return method, getattr(model, method)(X)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(16)))
    COUNTS["concurrent transform calls"] += len(results)
    for method, out in results:
        np.testing.assert_array_equal(out, serial[method])
    assert torch.get_num_threads() == torch_threads


# ------------------------------------------------------------------- the list

# Every case of issue 8 and the tests that try it (test_persistence.py holds the
# persistence and pickle-version ones).
ISSUE_8_CASES = {
    "interrupt leaves a usable model with the best weights and a warning": [
        "test_interrupt_keeps_the_best_weights_and_warns",
        "test_interrupt_with_early_stopping_keeps_the_best_validation_weights",
    ],
    "interrupt before one epoch, or outside the loop, changes nothing": [
        "test_interrupt_in_the_first_epoch_of_a_warm_start_changes_nothing",
        "test_interrupt_in_partial_fit_changes_nothing",
        "test_interrupt_outside_the_training_loop_changes_nothing",
    ],
    "warm_start continues after an interrupt": ["test_warm_start_continues_after_an_interrupt"],
    "divergence raises a clear error and leaves nothing half-written": [
        "test_divergence_raises_and_leaves_nothing_half_written",
        "test_divergence_in_partial_fit_restores_the_previous_model",
    ],
    "divergence with warm_start restores the previous weights": [
        "test_divergence_with_warm_start_restores_the_previous_model"
    ],
    "save/load round trip, continuing training": [
        "persistence:test_round_trip_gives_the_same_model",
        "persistence:test_warm_start_continues_after_load",
        "persistence:test_partial_fit_continues_after_load_exactly_as_after_unpickling",
    ],
    "loading runs no code": ["persistence:test_loading_never_unpickles"],
    "truncated, tampered, foreign and crafted files are refused": [
        "persistence:test_truncated_file_is_refused",
        "persistence:test_flipped_weight_byte_fails_the_checksum",
        "persistence:test_edited_metadata_fails_the_checksum",
        "persistence:test_replaced_weights_fail_the_checksum",
        "persistence:test_files_that_are_not_models_are_refused",
        "persistence:test_crafted_files_are_refused",
    ],
    "incompatible format version is refused": ["persistence:test_other_format_version_is_refused"],
    "a GPU-fitted model loads on a CPU-only machine": [
        "persistence:test_gpu_fitted_model_loads_on_a_cpu_only_machine",
        "persistence:test_really_gpu_fitted_model_loads_on_cpu",
    ],
    "an interrupted save keeps the previous file": [
        "persistence:test_interrupted_save_keeps_the_previous_file"
    ],
    "another sk_dae version warns (pickle, joblib, save/load)": [
        "persistence:test_pickle_from_another_version_warns",
        "persistence:test_unstamped_pickle_warns",
        "persistence:test_other_sk_dae_version_warns_but_loads",
    ],
    "hostile input works or raises a clear ValueError/TypeError": [
        "test_listed_hostile_input",
        "test_batch_norm_refuses_one_row_batches_clearly",
        "test_hypothesis_hostile_input_fit",
        "test_hypothesis_hostile_input_inference",
    ],
    "transform from several threads equals the serial result": [
        "test_transform_from_many_threads_equals_serial"
    ],
}


def test_every_issue_8_case_has_its_tests():
    import importlib
    import sys

    modules = {
        "": sys.modules[__name__],
        "persistence": importlib.import_module("test_persistence"),
    }
    for case, names in ISSUE_8_CASES.items():
        assert names, case
        for name in names:
            module, _, name = name.rpartition(":")
            test = getattr(modules[module], name, None)
            assert callable(test), f"{case}: {name} is missing"
