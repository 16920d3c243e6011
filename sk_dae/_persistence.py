"""Safe persistence: one safetensors file that loading never executes.

pickle and joblib rebuild objects by running code named in the file, so a model file from
an untrusted source can run anything on load. This module writes a
`safetensors <https://huggingface.co/docs/safetensors>`_ file instead, which holds only
raw tensors and a header of strings, and loading it builds the estimator from that data
alone.

File layout (format version 1)
------------------------------
A standard safetensors file, readable by any safetensors reader:

* tensors: the network's ``state_dict`` (CPU, float32 weights, int64 batch-norm
  counters), under their ``state_dict`` names (``encoder.0.weight``, ...);
* the header's ``__metadata__`` (string to string):

  ``format``
      ``"sk_dae.DenoisingAutoencoder"``;
  ``format_version``
      ``"1"``, raised whenever older readers could misread a new file;
  ``sk_dae_version``, ``sklearn_version``
      the versions that wrote the file;
  ``estimator``
      JSON with ``params`` (``get_params(deep=False)``), ``attributes`` (the fitted
      attributes: ``loss_curve_``, ``n_iter_``, ``data_min_``, ``feature_names_in_``, ...)
      and ``module_spec`` (the constructor arguments of the network, or null when the
      estimator is not fitted);
  ``sha256``
      SHA-256 over the other metadata entries and every tensor's name, dtype, shape and
      bytes.

JSON has no tuples, non-finite floats, arrays, dicts with integer keys or
``RandomState`` objects; they are written as tagged objects (``{"__tuple__": [...]}``,
``{"__float__": "inf"}``, ``{"__ndarray__": [...], "dtype": "<U3"}``,
``{"__intdict__": [[0, ...], ...]}``, ``{"__RandomState__": [...]}``) and decoded back to
plain data, never to arbitrary types. Tensors other than the network's (the optimizer's
moments, the noise generator's state) are stored as tensors named ``sk_dae:<path>`` and
referenced from the JSON as ``{"__tensor__": "sk_dae:<path>"}``.

The checksum detects corruption and edits made without recomputing it; it is not a
signature, so it cannot tell who wrote a file. What makes loading safe is that nothing in
the file is ever executed or imported: the worst a malicious file can do is be refused.

Everything the estimator's pickled state holds is saved, the optimizer's moments and the
noise generator's state included, so a loaded model continues ``warm_start`` and
``partial_fit`` exactly as an unpickled one does.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import sklearn
import torch

from ._version import __version__

FORMAT = "sk_dae.DenoisingAutoencoder"
FORMAT_VERSION = 1

# Entries of ``__getstate__`` that are not attributes of their own.
_STATE_KEYS = ("_module_spec", "_module_state", "_sk_dae_version", "_sklearn_version")


def save(estimator, path):
    """Write ``estimator`` to ``path`` (see the module docstring for the layout).

    The file is written to a temporary name beside ``path`` and renamed into place, so an
    interrupted save never leaves a truncated file behind or clobbers an older one.
    """
    from safetensors.torch import save as serialize

    state = estimator.__getstate__()
    tensors = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in (state.get("_module_state") or {}).items()
    }
    encode = _Encoder(tensors)
    params = estimator.get_params(deep=False)
    attributes = {
        name: value
        for name, value in state.items()
        if name not in params and name not in _STATE_KEYS
    }
    if "device_" in attributes:
        attributes["device_"] = str(attributes["device_"])
    document = {
        "params": {name: encode(value, name) for name, value in params.items()},
        "attributes": {name: encode(value, name) for name, value in attributes.items()},
        "module_spec": encode(state.get("_module_spec"), "module_spec"),
    }
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "sk_dae_version": __version__,
        "sklearn_version": sklearn.__version__,
        "estimator": json.dumps(document, sort_keys=True, allow_nan=False),
    }
    metadata["sha256"] = _checksum(metadata, tensors)
    payload = serialize(tensors, metadata=metadata)

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path, cls):
    """Read an estimator of class ``cls`` written by :func:`save`.

    Raises ``ValueError`` for a file that is not such a model, is truncated, fails its
    checksum, or was written in a format this version cannot read.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: {str(path)!r}")
    try:
        with safe_open(path, framework="pt", device="cpu") as file:
            metadata = dict(file.metadata() or {})
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except SafetensorError as exc:
        raise ValueError(
            f"{str(path)!r} is not a readable sk_dae model file (it may be truncated, "
            f"corrupted or not a safetensors file): {exc}"
        ) from None

    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{str(path)!r} is a safetensors file but not an sk_dae model saved with "
            "DenoisingAutoencoder.save (its metadata has no "
            f"format={FORMAT!r} entry)."
        )
    version = metadata.get("format_version", "")
    if version != str(FORMAT_VERSION):
        raise ValueError(
            f"{str(path)!r} was written in sk_dae model format version {version!r} "
            f"(by sk_dae {metadata.get('sk_dae_version', 'unknown')}); this sk_dae "
            f"({__version__}) reads format version {FORMAT_VERSION} only. Load it with the "
            "sk_dae version that wrote it."
        )
    if metadata.get("sha256") != _checksum(metadata, tensors):
        raise ValueError(
            f"{str(path)!r} fails its checksum: the file was modified or corrupted after "
            "it was saved. Refusing to load it."
        )
    try:
        document = json.loads(metadata["estimator"])
        decode = _Decoder(tensors)
        params = {name: decode(value) for name, value in document["params"].items()}
        attributes = {name: decode(value) for name, value in document["attributes"].items()}
        spec = decode(document["module_spec"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{str(path)!r} has malformed sk_dae metadata: {exc!r}") from None
    module_tensors = {k: v for k, v in tensors.items() if not k.startswith(_PREFIX)}
    return _build(cls, path, metadata, params, attributes, spec, module_tensors)


def _build(cls, path, metadata, params, attributes, spec, tensors):
    """Assemble the estimator, checking every name and value against ``cls``."""
    from sklearn.utils._param_validation import InvalidParameterError

    known = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(
            f"{str(path)!r} sets parameters {unknown} that this sk_dae ({__version__}) "
            "does not have; it was written by an incompatible version."
        )
    try:
        cls(**params)._validate_params()
    except InvalidParameterError as exc:
        raise ValueError(f"{str(path)!r} holds an invalid parameter: {exc}") from None
    for name in attributes:
        # Data may only fill attributes; never shadow a method or anything of the class.
        if not name.isidentifier() or name.startswith("__") or hasattr(cls, name):
            raise ValueError(f"{str(path)!r} holds a forbidden attribute name {name!r}.")

    state = {**known, **params, **attributes}
    state["_sk_dae_version"] = metadata.get("sk_dae_version", "unknown")
    if spec is not None:
        _check_spec(path, spec, tensors)
        try:
            device = torch.device(state.get("device_", "cpu"))
        except (RuntimeError, TypeError):
            raise ValueError(
                f"{str(path)!r} names an unknown device {state.get('device_')!r}."
            ) from None
        # __setstate__ moves a CUDA-fitted model to the CPU where there is no GPU (as
        # unpickling does); an Apple-GPU one is moved here, with fresh noise.
        if device.type == "mps" and not torch.backends.mps.is_available():
            state["device_"] = "cpu"
            state.pop("_generator_state", None)
        state["_module_spec"] = spec
        state["_module_state"] = tensors
    elif tensors:
        raise ValueError(f"{str(path)!r} holds weights but no network description.")

    estimator = cls.__new__(cls)
    try:
        estimator.__setstate__(state)
    except (RuntimeError, TypeError, KeyError, ValueError, IndexError) as exc:
        raise ValueError(
            f"{str(path)!r} holds weights that do not fit its network description: {exc}"
        ) from None
    return estimator


def _check_spec(path, spec, tensors):
    """Refuse a network description that the saved tensors cannot fill.

    Checked before the network is built, so that a crafted file cannot make loading
    allocate a huge network.
    """
    try:
        widths = [spec["n_features"], *spec["hidden_layer_sizes"], spec["n_components"]]
        widths_ok = all(isinstance(w, int) and not isinstance(w, bool) for w in widths)
    except (KeyError, TypeError):
        widths_ok = False
    if not isinstance(spec, dict) or not widths_ok:
        raise ValueError(f"{str(path)!r} has a malformed network description.")
    largest = max((max(t.shape, default=0) for t in tensors.values()), default=0)
    if min(widths) < 1 or max(widths) > largest:
        raise ValueError(
            f"{str(path)!r} describes a network of widths {widths} that its weights cannot fill."
        )


def _checksum(metadata, tensors):
    digest = hashlib.sha256()
    header = {key: value for key, value in metadata.items() if key != "sha256"}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"\0{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


# -------------------------------------------------------------------- JSON encoding

_PREFIX = "sk_dae:"
_TAGS = ("__tuple__", "__float__", "__ndarray__", "__intdict__", "__tensor__", "__RandomState__")


class _Encoder:
    """Plain JSON for a value; tagged objects for what JSON lacks; tensors set aside."""

    def __init__(self, tensors):
        self.tensors = tensors

    def __call__(self, value, name):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            value = float(value)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self(v, f"{name}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self(v, f"{name}.{i}") for i, v in enumerate(value)]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            if any(k in _TAGS for k in value):
                raise TypeError(f"{name} has a reserved key; it cannot be written by save().")
            return {k: self(v, f"{name}.{k}") for k, v in value.items()}
        if isinstance(value, dict) and all(isinstance(k, int) for k in value):
            return {"__intdict__": [[k, self(v, f"{name}.{k}")] for k, v in value.items()]}
        if torch.is_tensor(value):
            key = f"{_PREFIX}{name}"
            self.tensors[key] = value.detach().cpu().contiguous()
            return {"__tensor__": key}
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
            if value.dtype.kind == "O" and not all(isinstance(v, str) for v in value.ravel()):
                raise TypeError(
                    f"{name} is an object array of non-strings; it cannot be written by save()."
                )
            dtype = value.dtype.str if value.dtype.kind != "O" else "O"
            return {"__ndarray__": value.tolist(), "dtype": dtype}
        if isinstance(value, np.random.RandomState):
            kind, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            return {"__RandomState__": [kind, keys.tolist(), int(pos), int(has_gauss), cached]}
        raise TypeError(
            f"{name}={value!r} of type {type(value).__name__} cannot be written by save(); "
            "only numbers, strings, tuples, lists, dicts, arrays, tensors and RandomState "
            "instances can. Use pickle or joblib for such estimators."
        )


class _Decoder:
    """The inverse of :class:`_Encoder`; it builds plain data, arrays and tensors only."""

    def __init__(self, tensors):
        self.tensors = tensors

    def __call__(self, value):
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__tuple__" in value:
            return tuple(self(v) for v in value["__tuple__"])
        if "__float__" in value:
            if value["__float__"] not in ("inf", "-inf", "nan"):
                raise ValueError(f"bad float {value['__float__']!r}")
            return float(value["__float__"])
        if "__intdict__" in value:
            return {int(k): self(v) for k, v in value["__intdict__"]}
        if "__tensor__" in value:
            key = value["__tensor__"]
            if not (isinstance(key, str) and key.startswith(_PREFIX) and key in self.tensors):
                raise ValueError(f"reference to a missing tensor {key!r}")
            return self.tensors[key]
        if "__ndarray__" in value:
            dtype = np.dtype(value["dtype"])
            if dtype.kind not in "biufUO":
                raise ValueError(f"bad array dtype {value['dtype']!r}")
            array = np.array(value["__ndarray__"], dtype=dtype)
            if dtype.kind == "O" and not all(isinstance(v, str) for v in array.ravel()):
                raise ValueError("an object array may only hold strings")
            return array
        if "__RandomState__" in value:
            kind, keys, pos, has_gauss, cached = value["__RandomState__"]
            random_state = np.random.RandomState()
            keys = np.asarray(keys, dtype=np.uint32)
            random_state.set_state((kind, keys, pos, has_gauss, cached))
            return random_state
        return {k: self(v) for k, v in value.items()}
