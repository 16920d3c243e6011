"""Safe persistence (save/load) and the version stamp of pickles.

Every way a model file can go wrong is tried against ``DenoisingAutoencoder.load``:
truncation, flipped bytes, edited metadata, other format versions, files that are not
models, and files crafted by someone who recomputed the checksum. Each must be refused
with a ``ValueError`` (or ``FileNotFoundError``) that names the file and says what is wrong
with it, without a chained library traceback, and loading must never unpickle.
"""

import io
import json
import os
import pickle
import re
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import fit_quiet, interrupt_at_step, tiny
from safetensors import safe_open
from safetensors.torch import save as st_save
from sklearn.exceptions import NotFittedError

import sk_dae
from sk_dae import DeepClustering, DenoisingAutoencoder, InconsistentVersionWarning, _persistence

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def X(few_digits):
    return few_digits


def _fit(X, **params):
    """A tiny model trained for 3 epochs."""
    return fit_quiet(tiny(max_iter=3, **params), X)


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


def _assert_refused(path, what, error=ValueError, cls=DenoisingAutoencoder):
    """Loading ``path`` with ``cls.load`` raises ``error`` naming the file and saying
    ``what`` (a regex) is wrong, as the whole story: no chained traceback from
    safetensors, json or torch."""
    with pytest.raises(error, match=what) as info:
        cls.load(path)
    assert type(info.value) is error
    assert repr(str(path)) in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


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
        "interrupted_",
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
    fit_quiet(loaded, X)
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
    model = tiny()
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


UNREADABLE = r"is not a readable sk_dae model file \(it may be truncated, corrupted or not a"
CHECKSUM = r"fails its checksum: the file was modified or corrupted after it was saved"


@pytest.mark.parametrize("keep", [0, 4, 8, 50, 0.5, 0.9, -1])
def test_truncated_file_is_refused(saved, keep):
    data = saved.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    saved.write_bytes(data[:n])
    _assert_refused(saved, UNREADABLE)


@pytest.mark.parametrize("where", [0.3, 0.6, 0.99])
def test_flipped_weight_byte_fails_the_checksum(saved, where):
    data = bytearray(saved.read_bytes())
    header_end = 8 + int.from_bytes(data[:8], "little")
    i = header_end + int((len(data) - header_end) * where)
    data[i] ^= 0x01
    saved.write_bytes(bytes(data))
    _assert_refused(saved, CHECKSUM)


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
    _assert_refused(saved, CHECKSUM)


def test_replaced_weights_fail_the_checksum(saved):
    metadata, tensors = _read(saved)
    tensors = {k: torch.zeros_like(v) for k, v in tensors.items()}
    _rewrite(saved, metadata, tensors, fix_checksum=False)
    _assert_refused(saved, CHECKSUM)


@pytest.mark.parametrize("version", ["2", "0", "", "1.0"])
def test_other_format_version_is_refused(saved, version):
    metadata, tensors = _read(saved)
    metadata["format_version"] = version
    _rewrite(saved, metadata, tensors)
    _assert_refused(
        saved,
        f"was written in sk_dae model format version {re.escape(repr(version))} .* reads "
        "format version 1 only",
    )


@pytest.fixture
def not_models(fitted, tmp_path):
    """Files that are not safetensors files at all, by name."""
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(fitted))
    joblibbed = tmp_path / "model.joblib"
    joblib.dump(fitted, joblibbed)
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 100)
    return {"empty": empty, "pickle": pickled, "joblib": joblibbed, "text": text}


@pytest.mark.parametrize("kind", ["empty", "pickle", "joblib", "text"])
def test_files_that_are_not_safetensors_are_refused(not_models, kind):
    _assert_refused(not_models[kind], UNREADABLE)


def test_a_safetensors_file_that_is_not_a_model_is_refused(tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(st_save({"w": torch.ones(2, 2)}, metadata={"author": "someone"}))
    _assert_refused(foreign, "is a safetensors file but not an sk_dae model")


def test_a_missing_file_or_a_folder_is_refused(tmp_path):
    _assert_refused(tmp_path / "missing.safetensors", "No such model file", FileNotFoundError)
    _assert_refused(tmp_path, "No such model file", FileNotFoundError)


# Crafted files: a valid checksum, hostile content. None may load, none may run code or
# allocate what the weights cannot fill. name: (edit of the JSON document, what the
# refusal says).
CRAFTED = {
    "unknown-parameter": (
        lambda d: d["params"].update(evil=1),
        r"sets parameters \['evil'\] that this sk_dae .* does not have",
    ),
    "invalid-parameter": (
        lambda d: d["params"].update(n_components=-1),
        r"holds an invalid parameter: The 'n_components' parameter",
    ),
    "wrong-type-parameter": (
        lambda d: d["params"].update(activation=["relu"]),
        r"holds an invalid parameter: The 'activation' parameter",
    ),
    "shadow-method": (
        lambda d: d["attributes"].update(transform=1),
        r"holds a forbidden attribute name 'transform'",
    ),
    "dunder-attribute": (
        lambda d: d["attributes"].update(__class__="x"),
        r"holds a forbidden attribute name '__class__'",
    ),
    "huge-network": (
        lambda d: d["module_spec"].update(n_features=10**12),
        r"describes a network of widths \[1000000000000, 12, 3\] that its weights cannot fill",
    ),
    "shape-mismatch": (
        lambda d: d["module_spec"].update(n_features=10),
        r"holds weights that do not fit its network description",
    ),
    "bad-spec-key": (
        lambda d: d["module_spec"].update(evil=1),
        r"holds weights that do not fit its network description",
    ),
    "spec-not-dict": (
        lambda d: d.update(module_spec=[1, 2]),
        r"has a malformed network description",
    ),
    "no-spec": (
        lambda d: d.update(module_spec=None),
        r"holds weights but no network description",
    ),
    "bad-device": (
        lambda d: d["attributes"].update(device_="nonsense:7"),
        r"names an unknown device 'nonsense:7'",
    ),
    "bad-float-tag": (
        lambda d: d["attributes"].update(best_loss_={"__float__": "1e999"}),
        r"has malformed sk_dae metadata: .*bad float '1e999'",
    ),
    "bad-array-dtype": (
        lambda d: d["attributes"].update(x_={"__ndarray__": [1], "dtype": "V8"}),
        r"has malformed sk_dae metadata: .*bad array dtype 'V8'",
    ),
    "object-array": (
        lambda d: d["attributes"].update(x_={"__ndarray__": [[1]], "dtype": "O"}),
        r"has malformed sk_dae metadata: .*an object array may only hold strings",
    ),
    "no-params": (
        lambda d: d.pop("params"),
        r"has malformed sk_dae metadata: KeyError\('params'\)",
    ),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_files_are_refused(saved, name):
    edit, what = CRAFTED[name]
    _edit_document(saved, edit)
    _assert_refused(saved, what)


def test_crafted_bad_json_is_refused(saved):
    metadata, tensors = _read(saved)
    metadata["estimator"] = metadata["estimator"][:-5]
    _rewrite(saved, metadata, tensors)
    _assert_refused(saved, "has malformed sk_dae metadata: JSONDecodeError")


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


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_file_follows_the_umask_like_any_other_file(fitted, tmp_path, umask):
    previous = os.umask(umask)
    try:
        fitted.save(tmp_path / "model.safetensors")
        (tmp_path / "other.txt").write_text("x")
    finally:
        os.umask(previous)
    mode = (tmp_path / "model.safetensors").stat().st_mode & 0o777
    assert mode == (tmp_path / "other.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_unsaveable_parameter_is_refused_with_a_pointer_to_pickle(fitted, tmp_path):
    model = pickle.loads(pickle.dumps(fitted))
    model.random_state = np.random.default_rng(0)  # not a valid random_state anyway
    with pytest.raises(TypeError, match="pickle or joblib"):
        model.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


# ---------------------------------------------------------------- pickle versions


# A version of the same length as ours, so that replacing it keeps a pickle's frames valid.
OTHER_VERSION = "9" * len(sk_dae.__version__)


def _as_if_saved_by(data, version):
    """``data``, a pickle or joblib file of a model, as sk_dae ``version`` would have
    written it: the version stamp is the one string that differs."""
    ours, theirs = (_pickled_text(v) for v in (sk_dae.__version__, version))
    assert data.count(ours) == 1
    return data.replace(ours, theirs)


def _pickled_text(text):
    """How pickle (protocol 4 and 5) writes a short string: SHORT_BINUNICODE, length, text."""
    encoded = text.encode()
    return b"\x8c" + bytes([len(encoded)]) + encoded


def _joblib_dumps(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "dumps, loads",
    [(pickle.dumps, pickle.loads), (_joblib_dumps, lambda data: joblib.load(io.BytesIO(data)))],
    ids=["pickle", "joblib"],
)
def test_pickle_from_another_version_warns(X, fitted, dumps, loads):
    data = _as_if_saved_by(dumps(fitted), OTHER_VERSION)
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = loads(data)
    message = record[0].message
    assert (message.original_version, message.current_version) == (
        OTHER_VERSION,
        sk_dae.__version__,
    )
    assert OTHER_VERSION in str(message) and sk_dae.__version__ in str(message)
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))


def test_unstamped_pickle_warns(fitted):
    state = fitted.__getstate__()
    del state["_sk_dae_version"]
    model = DenoisingAutoencoder.__new__(DenoisingAutoencoder)
    with pytest.warns(InconsistentVersionWarning, match="unknown"):
        model.__setstate__(state)


def test_pickle_from_this_version_is_silent(X, fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))


# ---------------------------------------------------------------- DeepClustering


def _fit_clustering(X, **params):
    """A tiny DeepClustering: a (12,)-3 autoencoder pretrained 3 epochs, 2 passes of IDEC."""
    params = {"autoencoder": tiny(max_iter=3), "max_iter": 2, "random_state": 0, **params}
    return DeepClustering(4, **params).fit(X)


@pytest.fixture(scope="module")
def clustering(X):
    return _fit_clustering(X)


@pytest.fixture
def saved_clustering(clustering, tmp_path):
    path = tmp_path / "clustering.safetensors"
    clustering.save(path)
    return path


def _assert_same_clustering(a, b, X):
    params_a, params_b = a.get_params(deep=False), b.get_params(deep=False)
    autoencoders = params_a.pop("autoencoder"), params_b.pop("autoencoder")
    np.testing.assert_array_equal(params_a.pop("init"), params_b.pop("init"))
    assert params_a == params_b
    if autoencoders[0] is None:
        assert autoencoders[1] is None
    else:
        assert autoencoders[0].get_params() == autoencoders[1].get_params()
    for name in ("cluster_centers_", "labels_", "initial_labels_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("n_iter_", "label_changes_", "loss_curve_", "interrupted_", "n_features_in_"):
        assert getattr(a, name) == getattr(b, name), name
    for method in ("predict", "transform", "predict_proba"):
        np.testing.assert_array_equal(getattr(a, method)(X), getattr(b, method)(X), method)
    _assert_same_model(a.autoencoder_, b.autoencoder_, X)


def test_clustering_round_trips(X, clustering, saved_clustering):
    loaded = DeepClustering.load(saved_clustering)
    assert type(loaded) is DeepClustering
    assert type(loaded.autoencoder_) is DenoisingAutoencoder
    assert loaded.autoencoder_ is not loaded.autoencoder
    _assert_same_clustering(clustering, loaded, X)
    # The pretraining's hyperparameters stay an unfitted autoencoder, as given.
    assert not hasattr(loaded.autoencoder, "module_")


def test_clustering_file_holds_the_autoencoder_as_a_component(clustering, saved_clustering):
    metadata, tensors = _read(saved_clustering)
    assert metadata["format"] == "sk_dae.DeepClustering"
    document = json.loads(metadata["estimator"])
    assert set(document["components"]) == {"autoencoder", "autoencoder_"}
    assert document["components"]["autoencoder_"]["format"] == "sk_dae.DenoisingAutoencoder"
    assert document["module_spec"] is None
    network = {k for k in tensors if not k.startswith("sk_dae:")}
    assert network == {f"autoencoder_/{k}" for k in clustering.autoencoder_.module_.state_dict()}


def test_prefit_autoencoder_and_other_parameters_round_trip(X, tmp_path):
    pretrained = fit_quiet(tiny(max_iter=2), X)
    model = _fit_clustering(
        X, autoencoder=pretrained, prefit=True, method="dec", init=np.zeros((4, 3)), max_iter=1
    )
    model.save(tmp_path / "m.safetensors")
    loaded = DeepClustering.load(tmp_path / "m.safetensors")
    _assert_same_clustering(model, loaded, X)
    _assert_same_model(model.autoencoder, loaded.autoencoder, X)


def test_interrupted_clustering_round_trips(X, tmp_path):
    with interrupt_at_step(4), pytest.warns(UserWarning, match="interrupted"):
        model = _fit_clustering(X, autoencoder=tiny(max_iter=3, batch_size=100))
    assert model.interrupted_
    model.save(tmp_path / "m.safetensors")
    _assert_same_clustering(model, DeepClustering.load(tmp_path / "m.safetensors"), X)


def test_unfitted_clustering_round_trips(X, tmp_path):
    for model in (DeepClustering(3, method="dec"), DeepClustering(3, autoencoder=tiny())):
        model.save(tmp_path / "m.safetensors")
        loaded = DeepClustering.load(tmp_path / "m.safetensors")
        assert repr(loaded) == repr(model)
        with pytest.raises(NotFittedError):
            loaded.predict(X)


def test_a_file_of_the_other_class_is_refused(saved, saved_clustering):
    with pytest.raises(
        ValueError,
        match="class 'DenoisingAutoencoder', not a DeepClustering; "
        "load it with DenoisingAutoencoder.load",
    ):
        DeepClustering.load(saved)
    with pytest.raises(
        ValueError,
        match="class 'DeepClustering', not a DenoisingAutoencoder; "
        "load it with DeepClustering.load",
    ):
        DenoisingAutoencoder.load(saved_clustering)


def test_clustering_from_another_version_warns_once(X, clustering, saved_clustering):
    metadata, tensors = _read(saved_clustering)
    metadata["sk_dae_version"] = "0.0.1"
    _rewrite(saved_clustering, metadata, tensors)
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = DeepClustering.load(saved_clustering)
    assert len(record) == 1 and "This DeepClustering was saved" in str(record[0].message)
    assert record[0].filename == __file__
    np.testing.assert_array_equal(loaded.predict(X), clustering.predict(X))


def test_gpu_fitted_clustering_loads_on_a_cpu_only_machine(X, clustering, tmp_path, monkeypatch):
    gpu_model = pickle.loads(pickle.dumps(clustering))
    gpu_model.autoencoder_.device_ = torch.device("cuda:0")
    gpu_model.set_params(device="cuda")
    gpu_model.save(tmp_path / "gpu.safetensors")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = DeepClustering.load(tmp_path / "gpu.safetensors")
    assert loaded.autoencoder_.device_ == torch.device("cpu")
    np.testing.assert_array_equal(loaded.predict_proba(X), clustering.predict_proba(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_really_gpu_fitted_clustering_loads_on_cpu(X, tmp_path, monkeypatch):
    model = _fit_clustering(X, device="cuda")
    model.save(tmp_path / "gpu.safetensors")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = DeepClustering.load(tmp_path / "gpu.safetensors")
    assert loaded.autoencoder_.device_ == torch.device("cpu")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.transform(X), model.transform(X), rtol=1e-4, atol=1e-5)


CRAFTED_CLUSTERING = {
    "unknown-component": (
        lambda d: d["components"].update(evil=d["components"]["autoencoder_"]),
        r"holds a component 'evil' that DeepClustering does not have",
    ),
    "component-of-another-format": (
        lambda d: d["components"]["autoencoder_"].update(format="sk_dae.DeepClustering"),
        r"holds a component 'autoencoder_' of format 'sk_dae.DeepClustering'",
    ),
    "component-not-a-document": (
        lambda d: d["components"].update(autoencoder_=[1]),
        r"holds a component 'autoencoder_' of format None",
    ),
    "component-bad-parameter": (
        lambda d: d["components"]["autoencoder_"]["params"].update(n_components=0),
        r"holds an invalid parameter: The 'n_components' parameter",
    ),
    "component-huge-network": (
        lambda d: d["components"]["autoencoder_"]["module_spec"].update(n_features=10**12),
        r"describes a network of widths \[1000000000000, 12, 3\]",
    ),
    "components-not-an-object": (
        lambda d: d.update(components=3),
        r"has malformed sk_dae metadata",
    ),
    "invalid-parameter": (
        lambda d: d["params"].update(method="kmeans"),
        r"holds an invalid parameter: The 'method' parameter",
    ),
}


@pytest.mark.parametrize("name", sorted(CRAFTED_CLUSTERING))
def test_crafted_clustering_files_are_refused(saved_clustering, name):
    edit, what = CRAFTED_CLUSTERING[name]
    _edit_document(saved_clustering, edit)
    _assert_refused(saved_clustering, what, cls=DeepClustering)


def test_edited_clustering_weights_fail_the_checksum(saved_clustering):
    metadata, tensors = _read(saved_clustering)
    tensors["autoencoder_/encoder.0.weight"][0, 0] += 1
    _rewrite(saved_clustering, metadata, tensors, fix_checksum=False)
    _assert_refused(saved_clustering, CHECKSUM, cls=DeepClustering)
