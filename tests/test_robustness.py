"""Faults and hostile input: nothing crashes, hangs, returns NaN silently or is lost.

* Interrupts (``KeyboardInterrupt``) are injected at chosen optimizer steps, through
  torch's global optimizer step hook (``conftest.interrupt_at_step``).
* Divergence is caused by data or learning rates that make the loss non-finite.
* Hostile input is listed case by case in ``HOSTILE_CASES`` and drawn by hypothesis
  (shapes, dtypes, magnitudes, containers); every refusal must name a problem the input
  has (``PROBLEMS``), in words written for the user.
* ``transform`` runs from several threads at once.

Interrupts within the first epoch, after some optimizer steps, are
``tests/test_fit_semantics.py``'s subject.
"""

import copy
import functools
import pickle
import re
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from conftest import fit_quiet, interrupt_at_step, short_training, tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from sk_dae import DenoisingAutoencoder

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # sklearn's own, legitimate warnings about frames versus arrays.
    pytest.mark.filterwarnings("ignore:X has feature names:UserWarning"),
    pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning"),
    # sklearn's finiteness check sums X first; inf + -inf warns before its clear ValueError.
    pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning"),
    # numpy's, as sklearn converts object data beyond float32's range; its ValueError follows.
    pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning"),
    # Large values make the default Gaussian noise negligible; the fit warns and works.
    pytest.mark.filterwarnings("ignore:Gaussian noise of noise_level:UserWarning"),
]

# Words that betray an error from deep inside torch or numpy instead of a message
# written for the user.
TORCH_WORDS = ("torch.", "Tensor", "mat1", "mat2", "aten::", "size mismatch")


@pytest.fixture(scope="module")
def standardized(few_digits):
    return StandardScaler().fit_transform(few_digits).astype(np.float32)


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


def _assert_unfitted(model):
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    assert set(vars(model)) == set(model.get_params())  # not even n_features_in_


class _InterruptedWhileRead:
    """Array-like data whose reading is interrupted, as by Ctrl-C while fit validates X."""

    def __array__(self, dtype=None, copy=None):
        raise KeyboardInterrupt


# ------------------------------------------------------------------- interrupts

STEPS_PER_EPOCH = 4  # 200 rows, batch_size=50


@pytest.mark.parametrize("step", [5, 6, 9, 11, 13, 16])
def test_interrupt_after_complete_epochs_keeps_the_best_epoch_and_warns(few_digits, step):
    complete = (step - 1) // STEPS_PER_EPOCH
    model = tiny(max_iter=4)
    with (
        interrupt_at_step(step),
        pytest.warns(UserWarning, match=f"interrupted after {complete} complete epoch"),
    ):
        model.fit(few_digits)
    assert model.n_iter_ == complete == len(model.loss_curve_)
    best = int(np.argmin(model.loss_curve_))
    # The kept weights are exactly those after the best epoch of an uninterrupted fit.
    reference = fit_quiet(tiny(max_iter=best + 1), few_digits)
    assert reference.loss_curve_ == model.loss_curve_[: best + 1]
    assert _same_weights(_weights(model), _weights(reference))
    assert np.isfinite(model.transform(few_digits)).all()


def test_interrupt_before_the_first_step_leaves_the_model_unfitted(few_digits):
    model = tiny()
    with interrupt_at_step(1), pytest.raises(KeyboardInterrupt):
        model.fit(few_digits)
    _assert_unfitted(model)


def test_warm_start_continues_after_an_interrupt(few_digits, tmp_path):
    model = tiny(max_iter=5)
    with interrupt_at_step(2 * STEPS_PER_EPOCH + 2):
        with pytest.warns(UserWarning, match="interrupted after 2 complete"):
            model.fit(few_digits)
    curve = list(model.loss_curve_)
    # The interrupted model is a whole model: it survives pickling and save/load.
    model.save(tmp_path / "m.safetensors")
    for copy_ in (
        pickle.loads(pickle.dumps(model)),
        DenoisingAutoencoder.load(tmp_path / "m.safetensors"),
    ):
        np.testing.assert_array_equal(copy_.transform(few_digits), model.transform(few_digits))
    model.set_params(warm_start=True, max_iter=3)
    fit_quiet(model, few_digits)
    assert model.n_iter_ == 5
    assert model.loss_curve_[:2] == curve
    assert model.loss_curve_[2] < curve[0]


def test_interrupt_with_early_stopping_keeps_the_best_validation_weights(few_digits):
    params = dict(early_stopping=True, batch_size=45)  # 180 train rows: 4 steps an epoch
    model = tiny(**params, max_iter=5)
    with interrupt_at_step(3 * 4 + 2):
        with pytest.warns(UserWarning, match="interrupted after 3 complete"):
            model.fit(few_digits)
    assert len(model.validation_scores_) == model.n_iter_ == 3
    # An uninterrupted 3-epoch fit restores its best epoch at the end.
    reference = fit_quiet(tiny(**params, max_iter=3), few_digits)
    assert reference.validation_scores_ == model.validation_scores_
    assert _same_weights(_weights(model), _weights(reference))


def test_interrupt_before_the_first_step_of_a_warm_start_changes_nothing(few_digits):
    model = fit_quiet(tiny(warm_start=True, max_iter=2), few_digits)
    before = _snapshot(model)
    with interrupt_at_step(1), pytest.raises(KeyboardInterrupt):
        model.fit(few_digits)
    _assert_unchanged(before, _snapshot(model))
    fit_quiet(model, few_digits)  # and it still trains
    assert model.n_iter_ == 4


def test_interrupt_before_the_first_step_of_partial_fit_changes_nothing(few_digits):
    model = tiny()
    with interrupt_at_step(1), pytest.raises(KeyboardInterrupt):
        model.partial_fit(few_digits)
    _assert_unfitted(model)
    model.partial_fit(few_digits)
    before = _snapshot(model)
    with interrupt_at_step(1), pytest.raises(KeyboardInterrupt):
        model.partial_fit(few_digits)
    _assert_unchanged(before, _snapshot(model))


def test_interrupt_while_the_input_is_read_changes_nothing(few_digits):
    model = tiny(warm_start=True)
    with pytest.raises(KeyboardInterrupt):
        model.fit(_InterruptedWhileRead())
    _assert_unfitted(model)
    fit_quiet(model, few_digits)
    before = _snapshot(model)
    for method in (model.fit, model.partial_fit):
        with pytest.raises(KeyboardInterrupt):
            method(_InterruptedWhileRead())
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
    model = tiny(**params)
    with pytest.raises(ValueError, match="Training diverged.*learning_rate_init"):
        model.fit(X)
    _assert_unfitted(model)

    # A fitted model that is refit (warm_start=False) and diverges stays as it was.
    fitted = fit_quiet(tiny(), standardized).set_params(**params)
    before = _snapshot(fitted)
    with pytest.raises(ValueError, match="Training diverged"):
        fitted.fit(X)
    _assert_unchanged(before, _snapshot(fitted))


def test_divergence_with_warm_start_restores_the_previous_model(standardized):
    model = fit_quiet(tiny(warm_start=True), standardized)
    before = _snapshot(model)
    reference = model.transform(standardized)
    with pytest.raises(ValueError, match=r"Training diverged.*range over \[-3.*e\+31"):
        model.fit(standardized * 1e31)
    _assert_unchanged(before, _snapshot(model))  # optimizer moments included
    np.testing.assert_array_equal(model.transform(standardized), reference)
    # It still trains: a poisoned optimizer state would make every later fit diverge.
    fit_quiet(model, standardized)
    assert np.isfinite(model.loss_curve_).all() and model.n_iter_ == 8


def test_divergence_in_partial_fit_restores_the_previous_model(standardized):
    model = tiny().partial_fit(standardized)
    before = _snapshot(model)
    with pytest.raises(ValueError, match="Training diverged"):
        model.partial_fit(standardized * 1e30)
    _assert_unchanged(before, _snapshot(model))
    model.partial_fit(standardized)
    assert np.isfinite(model.loss_curve_).all()


# ------------------------------------------------------------------- listed input

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
    # A constant, however large, is the mean row the output starts at: nothing to diverge.
    "uint64 huge": (np.full((3, 4), 2**63, dtype=np.uint64), "ok", "ok"),
    "float16": (_BASE.astype(np.float16), "ok", "ok"),
    "float16 max": (np.full((3, 4), 65504, np.float16), "ok", "ok"),
    "bool": (_BASE > 0, "ok", "ok"),
    "object numbers": (_BASE.astype(object), "ok", "ok"),
    "object strings": (np.full((3, 4), "a", dtype=object), (ValueError, "convert string"), None),
    "complex": (_BASE + 1j, (ValueError, "Complex data not supported"), None),
    "tiny": (_BASE * 1e-300, "ok", "ok"),
    "subnormal float32": (np.full((3, 4), 1e-44, np.float32), "ok", "ok"),
    "huge float64": (_BASE * 1e300, (ValueError, "beyond the float32 range"), "ok"),
    "huge list": ((_BASE * 1e300).tolist(), (ValueError, "beyond the float32 range"), "ok"),
    "huge objects": (
        (_BASE * 1e300).astype(object),
        (ValueError, "beyond the float32 range"),
        "ok",
    ),
    "float32 near max": (
        np.full((3, 4), 3e38, np.float32),
        (ValueError, "diverged"),
        (ValueError, "overflowed"),
    ),
    "nan": (np.where(_BASE > 1, np.nan, _BASE), "ok", "ok"),  # missing values
    "all nan": (np.full((3, 4), np.nan), (ValueError, "every entry is missing"), "ok"),
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
        "ok",
        "ok",
    ),
    "frame categorical": (_frame(list("abcd")).astype("category"), "ok", "ok"),
}


def _tiny_on_few_features(**params):
    return tiny(hidden_layer_sizes=(5,), n_components=2, max_iter=2, **params)


@pytest.fixture(scope="module")
def fitted4():
    return fit_quiet(_tiny_on_few_features(), _BASE)


def _check_outcome(call, expected):
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
    model = _tiny_on_few_features()
    with short_training():
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
        model = tiny(batch_norm=True, **params)
        with pytest.raises(ValueError, match=message):
            model.fit(_BASE[:n_rows])
    fit_quiet(tiny(batch_norm=True, batch_size=3), _BASE[:4])  # a lone last row is merged


# ------------------------------------------------------------------- drawn input

# What can be wrong with an input, and the error (type, message) that names it. A refused
# input must get the error of one of the problems it has; an input without a problem
# must work.
PROBLEMS = {
    "not 2-D": (ValueError, r"Expected 2D array, got (scalar|1D) array|Found array with dim 3"),
    "no rows": (ValueError, r"Found array with 0 sample\(s\)"),
    "no columns": (ValueError, r"Found array with 0 feature\(s\)"),
    "sparse": (TypeError, r"Sparse data was passed for X, but dense data is required"),
    # sklearn's words for complex arrays; numpy's for Python complex numbers in a list.
    "complex": (
        (ValueError, TypeError),
        r"Complex data not supported|must be a string or a real number, not 'complex'",
    ),
    "NaN": (ValueError, r"Input X contains NaN"),
    "all missing": (ValueError, r"every entry is missing"),
    "infinity": (ValueError, r"Input X contains infinity"),
    # float64 beyond float32's range, refused by fit, or made infinite by a conversion.
    "beyond float32": (
        ValueError,
        r"beyond the float32 range|Input X contains infinity or a value too large",
    ),
    "huge values diverge": (ValueError, r"Training diverged: the training loss became"),
    "huge values overflow": (ValueError, r"The result overflowed to inf or NaN"),
    "one row to hold out": (ValueError, r"Found array with 1 sample\(s\).*minimum of 2"),
    "one row per batch": (ValueError, r"batch_norm=True needs at least 2 rows per batch"),
    "not in [0, 1] for bce": (ValueError, r"loss='bce' needs data in \[0, 1\]"),
    "wrong width": (
        ValueError,
        r"X has \d+ features, but (DenoisingAutoencoder is expecting \d+ features"
        r"|inverse_transform expects codes of width n_components=\d+)",
    ),
}

# Values from this magnitude on may make the loss or the network's output non-finite.
HUGE = 1e15
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _problems(X, values, *, method, params=None, width=None):
    """The problems of the input ``X`` whose entries are ``values`` (the array it was
    made from): ``(certain, possible)``, two sets of names from ``PROBLEMS``. ``width``
    is the number of features the fitted model expects (inference only)."""
    certain, possible = set(), set()
    shape = np.shape(X)
    if sp.issparse(X):
        certain.add("sparse")
    if len(shape) != 2:
        certain.add("not 2-D")
    if len(shape) == 2 and shape[0] == 0:
        certain.add("no rows")
    if len(shape) == 2 and shape[1] == 0:
        certain.add("no columns")
    if values.dtype.kind == "c":
        certain.add("complex")
    numbers = values.astype(np.complex128 if values.dtype.kind == "c" else np.float64)
    # Missing values are data, except in codes (inverse_transform) and when nothing
    # else is there to learn from.
    if np.isnan(numbers).any() and method == "inverse_transform":
        certain.add("NaN")
    if method == "fit" and numbers.size and np.isnan(numbers).all():
        certain.add("all missing")
    if np.isinf(numbers).any():
        certain.add("infinity")
    magnitude = np.abs(numbers[np.isfinite(numbers)]).max(initial=0.0)
    if method == "fit":
        params = params or {}
        if magnitude > FLOAT32_MAX:
            certain.add("beyond float32")
        if magnitude >= HUGE:
            possible.add("huge values diverge")
        if len(shape) == 2 and shape[0] == 1:
            if params.get("early_stopping"):
                certain.add("one row to hold out")
            if params.get("batch_norm"):
                certain.add("one row per batch")
        real = numbers.real
        if params.get("loss") == "bce" and ((real < 0).any() or (real > 1).any()):
            certain.add("not in [0, 1] for bce")
    else:
        if magnitude > FLOAT32_MAX:
            possible.add("beyond float32")
        if magnitude >= HUGE:
            possible.add("huge values overflow")
        if len(shape) == 2 and shape[1] not in (0, width):
            certain.add("wrong width")
    return certain, possible


def _assert_outcome(call, certain, possible):
    """Run ``call``: a refusal must name one of the problems, a success needs none
    certain. Returns the outcome: "works" or "refused"."""
    allowed = certain | possible
    try:
        with short_training(), warnings.catch_warnings():
            # Inputs unlike the training data are the case here; the warning is right.
            warnings.filterwarnings("ignore", message=".*outside the range of the training")
            out = np.asarray(call())
    except (ValueError, TypeError) as exc:
        message = str(exc)
        named = [
            problem
            for problem in allowed
            if isinstance(exc, PROBLEMS[problem][0]) and re.search(PROBLEMS[problem][1], message)
        ]
        assert named, f"{type(exc).__name__}({message!r}) names none of {sorted(allowed)}"
        assert not any(word in message for word in TORCH_WORDS), message
        assert "torch" not in type(exc).__module__
        return "refused"
    assert not certain, f"accepted an input with {sorted(certain)}"
    assert out.dtype in (np.float32, np.float64), out.dtype
    assert np.isfinite(out).all(), "silent non-finite output"
    return "works"


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


@pytest.mark.parametrize("magnitude", sorted(set(MAGNITUDES)), ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda dtype: np.dtype(dtype).name)
def test_every_dtype_and_magnitude_works_or_is_refused_for_a_problem_it_has(
    dtype, magnitude, fitted4
):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what casting does to the values is the case
        X = (_BASE * magnitude).astype(dtype)
    certain, possible = _problems(X, X, method="fit")
    _assert_outcome(lambda: _tiny_on_few_features().fit_transform(X), certain, possible)
    for method in ("transform", "reconstruct", "score_samples", "corrupt"):
        certain, possible = _problems(X, X, method=method, width=4)
        _assert_outcome(lambda: getattr(fitted4, method)(X), certain, possible)


@st.composite
def hostile_inputs(draw):
    """``(X, values)``: an input in some container and the array of its entries."""
    ndim = draw(st.integers(0, 8).map([0, 1, 2, 2, 2, 2, 2, 2, 3].__getitem__))
    sizes = st.sampled_from([1, 2, 3, 4, 5] * 2 + [0])  # an empty axis in 1 of 11
    shape = tuple(draw(st.lists(sizes, min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(DTYPES))
    base = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1, allow_nan=False, width=64)))
    values = np.asarray(base * draw(st.sampled_from(MAGNITUDES)))
    special = draw(st.sampled_from([None] * 5 + [np.nan, np.inf, -np.inf]))
    if special is not None and values.size:
        values.flat[draw(st.integers(0, values.size - 1))] = special
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = values.astype(dtype)
    container = draw(st.sampled_from(["array", "list", "frame", "csr", "coo", "fortran"]))
    if container == "list":
        return values.tolist(), values
    if container == "fortran":
        return np.asfortranarray(values), values
    if ndim == 2 and container == "frame":
        names = draw(
            st.lists(st.text(max_size=6), min_size=shape[1], max_size=shape[1], unique=True)
        )
        return pd.DataFrame(values, columns=names), values
    if ndim == 2 and container in ("csr", "coo") and dtype not in (object, np.float16):
        sparse = sp.csr_matrix(values) if container == "csr" else sp.coo_array(values)
        return sparse, values
    return values, values


@functools.cache
def _fitted_on(width):
    X = np.random.default_rng(width).normal(size=(8, width))
    return fit_quiet(tiny(hidden_layer_sizes=(3,), n_components=2, max_iter=2), X)


@settings(
    max_examples=50,
    deadline=5000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    drawn=hostile_inputs(),
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
def test_drawn_input_to_fit_works_or_is_refused_for_a_problem_it_has(drawn, params):
    X, values = drawn
    model = tiny(hidden_layer_sizes=(3,), n_components=2, max_iter=2, **params)
    certain, possible = _problems(X, values, method="fit", params=params)
    outcome = _assert_outcome(lambda: model.fit_transform(X), certain, possible)
    if outcome == "refused":
        assert set(vars(model)) == set(model.get_params())  # nothing half-fitted


@settings(max_examples=60, deadline=5000, derandomize=True, database=None)
@given(
    drawn=hostile_inputs(),
    method=st.sampled_from(
        ["transform", "reconstruct", "score_samples", "inverse_transform", "corrupt"]
    ),
)
def test_drawn_input_to_inference_works_or_is_refused_for_a_problem_it_has(drawn, method):
    X, values = drawn
    shape = np.shape(X)
    # A model fitted on X's width (or 4), except for inverse_transform: codes of width 2.
    width = shape[1] if len(shape) == 2 and shape[1] > 0 else 4
    model = _fitted_on(2 if method == "inverse_transform" else width)
    expects = model.n_components if method == "inverse_transform" else model.n_features_in_
    certain, possible = _problems(X, values, method=method, width=expects)
    _assert_outcome(lambda: getattr(model, method)(X), certain, possible)


# ------------------------------------------------------------------- threads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [None, 1])
def test_transform_from_many_threads_equals_serial(dtype, n_threads):
    X = np.random.default_rng(0).normal(size=(600, 20)).astype(dtype)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = fit_quiet(
            tiny(hidden_layer_sizes=(16,), n_components=4, max_iter=1, n_threads=n_threads), X
        )
        serial = {m: getattr(model, m)(X) for m in ("transform", "reconstruct")}
        start = threading.Barrier(8)

        def work(i):
            start.wait()
            method = ("transform", "reconstruct")[i % 2]
            return method, getattr(model, method)(X)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(work, range(16)))
        for method, out in results:
            np.testing.assert_array_equal(out, serial[method])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
