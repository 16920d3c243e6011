"""Safe persistence (save/load) and the version stamp of pickles.

Every way a model file can go wrong is tried against ``DenoisingAutoencoder.load``:
truncation, flipped bytes, edited metadata, other format versions, files that are not
models, and files crafted by someone who recomputed the checksum. Each must be refused
with a clear ``ValueError`` (or ``FileNotFoundError``), and loading must never unpickle.
"""

import io
import json
import os
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save as st_save
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import sk_dae
import sk_dae._persistence
from sk_dae import DenoisingAutoencoder, InconsistentVersionWarning, _persistence

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def X():
    return (load_digits().data[:200] / 16).astype(np.float32)


def _fit(X, **params):
    defaults = dict(n_components=3, hidden_layer_sizes=(12,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DenoisingAutoencoder(**{**defaults, **params}).fit(X)


@pytest.fixture(scope="module")
def fitted(X):
    return _fit(X)


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "model.safetensors"
    fitted.save(path)
    return path


def _read(path):
    with safe_open(path, framework="pt", device="cpu") as file:
        return dict(file.metadata()), {k: file.get_tensor(k) for k in file.keys()}


def _rewrite(path, metadata, tensors, *, fix_checksum=True):
    """Write a file as an attacker would: any content, with a valid checksum if wanted."""
    metadata = dict(metadata)
    if fix_checksum:
        metadata["sha256"] = _persistence._checksum(metadata, tensors)
    path.write_bytes(st_save(tensors, metadata=metadata))


def _edit_document(path, edit):
    metadata, tensors = _read(path)
    document = json.loads(metadata["estimator"])
    edit(document)
    metadata["estimator"] = json.dumps(document)
    _rewrite(path, metadata, tensors)


def _fitted_state(estimator):
    state = {k: v for k, v in vars(estimator).items() if k not in ("module_", "_optimizer")}
    state.pop("_generator", None)
    return state


def _assert_same_model(a, b, X):
    params_a, params_b = a.get_params(), b.get_params()
    if isinstance(params_a["random_state"], np.random.RandomState):
        state_a = params_a.pop("random_state").get_state()
        state_b = params_b.pop("random_state").get_state()
        np.testing.assert_array_equal(state_a[1], state_b[1])
        assert state_a[2:] == state_b[2:]
    assert params_a == params_b
    for name in (
        "loss_curve_",
        "n_iter_",
        "t_",
        "best_loss_",
        "output_activation_",
        "data_min_",
        "data_max_",
        "n_features_in_",
        "validation_scores_",
        "best_validation_score_",
    ):
        assert getattr(a, name) == getattr(b, name), name
    for key, tensor in a.module_.state_dict().items():
        assert torch.equal(tensor, b.module_.state_dict()[key]), key
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.reconstruct(X), b.reconstruct(X))
    Z = a.transform(X)
    np.testing.assert_array_equal(a.inverse_transform(Z), b.inverse_transform(Z))


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(tied_weights=True, batch_norm=True, dropout=0.1, noise="masking"),
        dict(early_stopping=True, hidden_layer_sizes=(16, 8), activation="tanh"),
        dict(hidden_layer_sizes=(), activation="identity", loss="bce", noise=None),
        dict(random_state=np.random.RandomState(3), optimizer="sgd", batch_size=32),
    ],
    ids=["default", "tied-bn-dropout", "early-stopping", "linear-bce", "randomstate-sgd"],
)
def test_round_trip_gives_the_same_model(X, tmp_path, params):
    model = _fit(X, **params)
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = DenoisingAutoencoder.load(path)
    assert type(loaded) is DenoisingAutoencoder
    assert loaded.hidden_layer_sizes == model.hidden_layer_sizes  # a tuple stays a tuple
    assert loaded.device_ == torch.device("cpu")
    _assert_same_model(model, loaded, X)


def test_random_state_instance_round_trips(X, tmp_path):
    model = _fit(X, random_state=np.random.RandomState(7))
    model.save(tmp_path / "m.safetensors")
    loaded = DenoisingAutoencoder.load(tmp_path / "m.safetensors")
    assert isinstance(loaded.random_state, np.random.RandomState)
    assert loaded.random_state.randint(1 << 30) == model.random_state.randint(1 << 30)


def test_feature_names_and_output_config_round_trip(X, tmp_path):
    columns = ["", " ", "é√", "a.b", "x" * 200, "__tuple__"] + [f"f{i}" for i in range(58)]
    frame = pd.DataFrame(X, columns=columns)
    model = _fit(frame).set_output(transform="pandas")
    model.save(tmp_path / "m.safetensors")
    loaded = DenoisingAutoencoder.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    out = loaded.transform(frame)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, model.transform(frame))


def test_unfitted_estimator_round_trips(tmp_path):
    model = DenoisingAutoencoder(n_components=5, hidden_layer_sizes=(7, 6), noise=None)
    model.save(tmp_path / "m.safetensors")
    loaded = DenoisingAutoencoder.load(str(tmp_path / "m.safetensors"))
    assert loaded.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        loaded.transform(np.zeros((2, 3)))


def test_warm_start_continues_after_load(X, fitted, saved):
    loaded = DenoisingAutoencoder.load(saved).set_params(warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loaded.fit(X)
    assert loaded.n_iter_ == fitted.n_iter_ + 2
    assert loaded.loss_curve_[:3] == fitted.loss_curve_
    assert loaded.loss_curve_[3] < fitted.loss_curve_[0]


def test_file_is_plain_safetensors_with_versioned_metadata(fitted, saved):
    metadata, tensors = _read(saved)
    assert metadata["format"] == "sk_dae.DenoisingAutoencoder"
    assert metadata["format_version"] == "1"
    assert metadata["sk_dae_version"] == sk_dae.__version__
    assert len(metadata["sha256"]) == 64
    document = json.loads(metadata["estimator"])
    assert document["params"]["n_components"] == 3
    assert document["attributes"]["n_iter_"] == 3
    network = {k for k in tensors if not k.startswith("sk_dae:")}
    assert network == set(fitted.module_.state_dict())
    assert "sk_dae:_generator_state" in tensors
    assert any(k.startswith("sk_dae:_optimizer_state.state.") for k in tensors)


def test_partial_fit_continues_after_load_exactly_as_after_unpickling(X, tmp_path):
    model = DenoisingAutoencoder(n_components=3, hidden_layer_sizes=(12,), random_state=0)
    model.partial_fit(X[:100]).partial_fit(X[100:])
    model.save(tmp_path / "m.safetensors")
    loaded = DenoisingAutoencoder.load(tmp_path / "m.safetensors").partial_fit(X[:100])
    unpickled = pickle.loads(pickle.dumps(model)).partial_fit(X[:100])
    model.partial_fit(X[:100])
    for other in (loaded, unpickled):
        for key, tensor in model.module_.state_dict().items():
            assert torch.equal(tensor, other.module_.state_dict()[key]), key
        assert other.loss_curve_ == model.loss_curve_


def test_loading_never_unpickles(saved, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load must not unpickle anything")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(joblib, "load", refuse)
    assert DenoisingAutoencoder.load(saved).n_iter_ == 3
    assert b"\x80\x04\x95" not in saved.read_bytes()  # no pickle protocol-4 frame inside


def test_gpu_fitted_model_loads_on_a_cpu_only_machine(X, fitted, tmp_path, monkeypatch):
    # The file of a model fitted on a GPU differs from a CPU one only in device_ (weights
    # are always written from CPU copies); write one, then load with CUDA unavailable.
    gpu_model = pickle.loads(pickle.dumps(fitted))
    gpu_model.device_ = torch.device("cuda:0")
    gpu_model.save(tmp_path / "gpu.safetensors")
    assert (
        json.loads(_read(tmp_path / "gpu.safetensors")[0]["estimator"])["attributes"]["device_"]
        == "cuda:0"
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = DenoisingAutoencoder.load(tmp_path / "gpu.safetensors")
    assert loaded.device_ == torch.device("cpu")
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_really_gpu_fitted_model_loads_on_cpu(X, tmp_path, monkeypatch):
    model = _fit(X, device="cuda")
    model.save(tmp_path / "gpu.safetensors")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = DenoisingAutoencoder.load(tmp_path / "gpu.safetensors")
    assert loaded.device_ == torch.device("cpu")
    np.testing.assert_allclose(loaded.transform(X), model.transform(X), rtol=1e-4, atol=1e-5)


def test_other_sk_dae_version_warns_but_loads(X, fitted, saved):
    metadata, tensors = _read(saved)
    metadata["sk_dae_version"] = "0.0.1"
    _rewrite(saved, metadata, tensors)
    with pytest.warns(InconsistentVersionWarning, match="0.0.1") as record:
        loaded = DenoisingAutoencoder.load(saved)
    assert record[0].message.original_version == "0.0.1"
    assert record[0].message.current_version == sk_dae.__version__
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))


# ---------------------------------------------------------------- refused files


@pytest.mark.parametrize("keep", [0, 4, 8, 50, 0.5, 0.9, -1])
def test_truncated_file_is_refused(saved, keep):
    data = saved.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    saved.write_bytes(data[:n])
    with pytest.raises(ValueError, match="not a readable sk_dae model file"):
        DenoisingAutoencoder.load(saved)


@pytest.mark.parametrize("where", [0.3, 0.6, 0.99])
def test_flipped_weight_byte_fails_the_checksum(saved, where):
    data = bytearray(saved.read_bytes())
    header_end = 8 + int.from_bytes(data[:8], "little")
    i = header_end + int((len(data) - header_end) * where)
    data[i] ^= 0x01
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="fails its checksum"):
        DenoisingAutoencoder.load(saved)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["params"].update(n_components=4),
        lambda d: d["attributes"].update(data_max_=2.0),
        lambda d: d["attributes"].pop("loss_curve_"),
    ],
    ids=["param", "attribute", "removed"],
)
def test_edited_metadata_fails_the_checksum(saved, edit):
    metadata, tensors = _read(saved)
    document = json.loads(metadata["estimator"])
    edit(document)
    metadata["estimator"] = json.dumps(document)
    _rewrite(saved, metadata, tensors, fix_checksum=False)
    with pytest.raises(ValueError, match="fails its checksum"):
        DenoisingAutoencoder.load(saved)


def test_replaced_weights_fail_the_checksum(saved):
    metadata, tensors = _read(saved)
    tensors = {k: torch.zeros_like(v) for k, v in tensors.items()}
    _rewrite(saved, metadata, tensors, fix_checksum=False)
    with pytest.raises(ValueError, match="fails its checksum"):
        DenoisingAutoencoder.load(saved)


@pytest.mark.parametrize("version", ["2", "0", "", "1.0"])
def test_other_format_version_is_refused(saved, version):
    metadata, tensors = _read(saved)
    metadata["format_version"] = version
    _rewrite(saved, metadata, tensors)
    with pytest.raises(ValueError, match="format version"):
        DenoisingAutoencoder.load(saved)


def test_files_that_are_not_models_are_refused(fitted, tmp_path):
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(fitted))
    joblibbed = tmp_path / "model.joblib"
    joblib.dump(fitted, joblibbed)
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 100)
    for path in (empty, pickled, joblibbed, text):
        with pytest.raises(ValueError, match="not a readable sk_dae model file"):
            DenoisingAutoencoder.load(path)
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(st_save({"w": torch.ones(2, 2)}, metadata={"author": "someone"}))
    with pytest.raises(ValueError, match="not an sk_dae model"):
        DenoisingAutoencoder.load(foreign)
    with pytest.raises(FileNotFoundError, match="No such model file"):
        DenoisingAutoencoder.load(tmp_path / "missing.safetensors")
    with pytest.raises(FileNotFoundError):
        DenoisingAutoencoder.load(tmp_path)  # a directory


# Crafted files: a valid checksum, hostile content. None may load, none may run code or
# allocate what the weights cannot fill.
CRAFTED = {
    "unknown-parameter": lambda d: d["params"].update(evil=1),
    "invalid-parameter": lambda d: d["params"].update(n_components=-1),
    "wrong-type-parameter": lambda d: d["params"].update(activation=["relu"]),
    "shadow-method": lambda d: d["attributes"].update(transform=1),
    "dunder-attribute": lambda d: d["attributes"].update(__class__="x"),
    "huge-network": lambda d: d["module_spec"].update(n_features=10**12),
    "shape-mismatch": lambda d: d["module_spec"].update(n_features=10),
    "bad-spec-key": lambda d: d["module_spec"].update(evil=1),
    "spec-not-dict": lambda d: d.update(module_spec=[1, 2]),
    "no-spec": lambda d: d.update(module_spec=None),
    "bad-device": lambda d: d["attributes"].update(device_="nonsense:7"),
    "bad-float-tag": lambda d: d["attributes"].update(best_loss_={"__float__": "1e999"}),
    "bad-array-dtype": lambda d: d["attributes"].update(x_={"__ndarray__": [1], "dtype": "V8"}),
    "object-array": lambda d: d["attributes"].update(x_={"__ndarray__": [[1]], "dtype": "O"}),
    "no-params": lambda d: d.pop("params"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_files_are_refused(saved, name):
    _edit_document(saved, CRAFTED[name])
    with pytest.raises(ValueError, match=str(saved.name)) as info:
        DenoisingAutoencoder.load(saved)
    assert "Traceback" not in str(info.value)


def test_crafted_bad_json_is_refused(saved):
    metadata, tensors = _read(saved)
    metadata["estimator"] = metadata["estimator"][:-5]
    _rewrite(saved, metadata, tensors)
    with pytest.raises(ValueError, match="malformed sk_dae metadata"):
        DenoisingAutoencoder.load(saved)


# ---------------------------------------------------------------- writing


def test_interrupted_save_keeps_the_previous_file(X, fitted, saved, monkeypatch):
    before = saved.read_bytes()

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _fit(X, n_components=2).save(saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]  # no temporary file left behind


def test_unsaveable_parameter_is_refused_with_a_pointer_to_pickle(fitted, tmp_path):
    model = pickle.loads(pickle.dumps(fitted))
    model.random_state = np.random.default_rng(0)  # not a valid random_state anyway
    with pytest.raises(TypeError, match="pickle or joblib"):
        model.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


# ---------------------------------------------------------------- pickle versions


def test_pickle_from_another_version_warns(X, fitted, monkeypatch):
    monkeypatch.setattr(sk_dae._persistence, "__version__", "0.0.1")
    for dumps, loads in (
        (pickle.dumps, pickle.loads),
        (_joblib_dumps, lambda data: joblib.load(io.BytesIO(data))),
    ):
        data = dumps(fitted)
        monkeypatch.undo()
        with pytest.warns(InconsistentVersionWarning) as record:
            loaded = loads(data)
        message = record[0].message
        assert (message.original_version, message.current_version) == (
            "0.0.1",
            sk_dae.__version__,
        )
        assert "0.0.1" in str(message) and sk_dae.__version__ in str(message)
        np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
        monkeypatch.setattr(sk_dae._persistence, "__version__", "0.0.1")


def _joblib_dumps(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


def test_unstamped_pickle_warns(fitted):
    state = fitted.__getstate__()
    del state["_sk_dae_version"]
    model = DenoisingAutoencoder.__new__(DenoisingAutoencoder)
    with pytest.warns(InconsistentVersionWarning, match="pre-0.1"):
        model.__setstate__(state)


def test_pickle_from_this_version_is_silent(X, fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
