"""Persistence of sk_dae's estimators: pickling, the safe file format, version checks.

Pickle and skops (``__getstate__``/``__setstate__`` delegate to :func:`portable_state`
and :func:`live_state`) and :func:`save`/:func:`load` share one portable form of the
fitted state: the network as its constructor arguments and its ``state_dict`` as numpy
arrays, the optimizer's state and the noise generator's state with numpy arrays for
tensors, and the sk_dae version. It holds no torch object, so skops stores it trusting
nothing but the estimator's class, and a model fitted on a GPU opens on a CPU-only
machine in every format.

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
      ``"sk_dae.<class>"``: ``"sk_dae.DenoisingAutoencoder"`` or ``"sk_dae.DeepClustering"``
      (a file is loaded by the class that saved it, or a subclass);
  ``format_version``
      ``"1"``, raised whenever older readers could misread a new file;
  ``sk_dae_version``, ``sklearn_version``
      the versions that wrote the file;
  ``estimator``
      JSON with ``params`` (``get_params(deep=False)``), ``attributes`` (the fitted
      attributes: ``loss_curve_``, ``n_iter_``, ``data_min_``, ``feature_names_in_``, ...)
      ``module_spec`` (the constructor arguments of the network, or null when the
      estimator is not fitted or has no network of its own) and, for an estimator that
      holds others (``DeepClustering``'s ``autoencoder`` and ``autoencoder_``),
      ``components``: the document of each by name, whose network tensors are named
      ``<component>/<state_dict name>`` (``autoencoder_/encoder.0.weight``);
  ``sha256``
      SHA-256 over the other metadata entries and every tensor's name, dtype, shape and
      bytes.

The JSON is written by :mod:`sk_dae._core.jsoncodec`: what JSON lacks (tuples, non-finite
floats, arrays, ``RandomState``) as tagged objects that decode to plain data only. Tensors
other than the network's (the optimizer's moments, the noise generator's state) are stored
as tensors named ``sk_dae:<path>`` and referenced from the JSON.

Components are saved and loaded by the same functions as a whole estimator; only the
classes the loading estimator names for its components can be built, and the file says
nothing about which code to run.

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
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch

from ._core.conv import build_network
from ._core.jsoncodec import TENSOR_PREFIX, Decoder, Encoder
from ._core.training import learning_rate_for, make_optimizer
from ._version import __version__

FORMAT = "sk_dae.DenoisingAutoencoder"
FORMAT_VERSION = 1
_FORMAT_PREFIX = "sk_dae."
# Separates a component's name from the names of its network's tensors.
_COMPONENT_SEPARATOR = "/"

# Entries of the portable state that the file keeps outside the JSON attributes.
_FILE_KEYS = ("_module_spec", "_module_state", "_sk_dae_version", "_sklearn_version")


class InconsistentVersionWarning(UserWarning):
    """A pickled model is loaded by a version of sk_dae other than the one that saved it.

    Emitted when unpickling, or loading with the ``load`` method of an sk_dae estimator,
    a model saved by another version of sk_dae. The model
    may load and still give different or invalid results; refit it, or use the version
    that saved it.

    Parameters
    ----------
    original_version : str
        The sk_dae version that saved the model.
    current_version : str
        The sk_dae version loading it.
    estimator : str, default="DenoisingAutoencoder"
        The class of the model.

    Examples
    --------
    >>> import pickle
    >>> import warnings
    >>> from sk_dae import DenoisingAutoencoder, InconsistentVersionWarning
    >>> data = pickle.dumps(DenoisingAutoencoder(n_components=2))
    >>> with warnings.catch_warnings():
    ...     # Refuse models saved by another version instead of warning.
    ...     warnings.simplefilter("error", InconsistentVersionWarning)
    ...     model = pickle.loads(data)
    >>> model.n_components
    2
    """

    def __init__(self, *, original_version, current_version, estimator="DenoisingAutoencoder"):
        self.original_version = original_version
        self.current_version = current_version
        self.estimator = estimator

    def __str__(self):
        return (
            f"This {self.estimator} was saved with sk_dae {self.original_version} and is "
            f"loaded with sk_dae {self.current_version}. This might lead to breaking code or "
            "invalid results. Use at your own risk."
        )


# -------------------------------------------------------------------- portable state


def portable_state(state):
    """``state`` (an estimator's ``__dict__``) with its torch objects as plain data.

    The network becomes its constructor arguments (``_module_spec``) and a CPU
    ``state_dict`` (``_module_state``); the optimizer its ``state_dict`` with CPU tensors;
    the noise generator its state. partial_fit continues the optimizer and the noise
    stream, and models travel by pickle between calls (dask_ml's Incremental, joblib), so
    their state travels too.
    """
    state = dict(state)
    module = state.pop("module_", None)
    optimizer = state.pop("_optimizer", None)
    generator = state.pop("_generator", None)
    if module is not None:
        state["_module_spec"] = module.spec()
        state["_module_state"] = {k: _to_array(v) for k, v in module.state_dict().items()}
        state["device_"] = str(state["device_"])
    if optimizer is not None:
        optimizer_state = optimizer.state_dict()
        optimizer_state["state"] = {
            index: {k: _to_array(v) if torch.is_tensor(v) else v for k, v in s.items()}
            for index, s in optimizer_state["state"].items()
        }
        state["_optimizer_state"] = optimizer_state
    if generator is not None:
        state["_generator_state"] = _to_array(generator.get_state())
    state["_sk_dae_version"] = __version__
    return state


def _to_array(tensor):
    """A CPU tensor as a numpy array: the portable state holds numpy arrays, not tensors,
    so that skops (which rebuilds numpy arrays but no torch type) can store it, and a
    model fitted on a GPU has nothing of the GPU left in it."""
    return tensor.detach().cpu().numpy()


def _to_tensor(value):
    """A numpy array of the portable state (or a tensor: pickles written before the
    state held arrays hold tensors, and still load) as a CPU tensor of its own memory."""
    if torch.is_tensor(value):
        return value
    return torch.tensor(np.asarray(value))


def tensor_state(state):
    """The portable ``state`` with its arrays as CPU tensors, as the safe file stores
    them (the network's tensors, the optimizer's moments, the noise generator's state)."""
    state = dict(state)
    if state.get("_module_state") is not None:
        state["_module_state"] = {k: _to_tensor(v) for k, v in state["_module_state"].items()}
    if state.get("_optimizer_state") is not None:
        optimizer_state = dict(state["_optimizer_state"])
        optimizer_state["state"] = {
            index: {k: _to_tensor(v) if _is_array(v) else v for k, v in s.items()}
            for index, s in optimizer_state["state"].items()
        }
        state["_optimizer_state"] = optimizer_state
    if state.get("_generator_state") is not None:
        state["_generator_state"] = _to_tensor(state["_generator_state"])
    return state


def _is_array(value):
    return torch.is_tensor(value) or isinstance(value, np.ndarray)


def live_state(state, *, stacklevel=2, estimator="DenoisingAutoencoder"):
    """The inverse of :func:`portable_state`: the network, optimizer and generator rebuilt
    on :func:`loadable_device`.

    Warns with :class:`InconsistentVersionWarning` when another sk_dae version saved the
    state of an ``estimator`` (the class name); ``stacklevel`` is that of the caller, as
    for :func:`warnings.warn`.
    """
    state = dict(state)
    saved_version = state.pop("_sk_dae_version", "unknown")
    if saved_version != __version__:
        warning = InconsistentVersionWarning(
            original_version=saved_version, current_version=__version__, estimator=estimator
        )
        warnings.warn(warning, stacklevel=stacklevel + 1)
    state = tensor_state(state)
    spec = state.pop("_module_spec", None)
    module_state = state.pop("_module_state", None)
    optimizer_state = state.pop("_optimizer_state", None)
    generator_state = state.pop("_generator_state", None)
    if spec is None:
        return state
    saved_device = torch.device(state["device_"])
    device = loadable_device(saved_device)
    module = build_network(**spec, seed=0)
    module.load_state_dict(module_state)
    state["module_"] = module.to(device).eval()
    state["device_"] = device
    if optimizer_state is not None:
        optimizer = make_optimizer(
            state["module_"],
            state["optimizer"],
            learning_rate_for(state["learning_rate_init"], spec.get("linear_path", False)),
            weight_decay=state["alpha"],
        )
        optimizer.load_state_dict(optimizer_state)
        state["_optimizer"] = optimizer
    # A CUDA generator's state does not fit a CPU generator: a model moved off the GPU
    # draws new noise from random_state on its next partial_fit.
    if generator_state is not None and device.type == saved_device.type:
        generator = torch.Generator(device=device)
        generator.set_state(generator_state)
        state["_generator"] = generator
    return state


def loadable_device(device):
    """``device``, or the CPU when this machine lacks that kind of device (a model fitted
    on a GPU opens on a laptop)."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        return torch.device("cpu")
    return device


# -------------------------------------------------------------------- the safe file


def format_of(cls):
    """The ``format`` entry of a file of ``cls``: ``"sk_dae.<class>"`` of the first sk_dae
    class of its method resolution order, so that a subclass reads its parent's files."""
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] == "sk_dae":
            return _FORMAT_PREFIX + klass.__name__
    return _FORMAT_PREFIX + cls.__name__


def save(estimator, path, *, components=None):
    """Write ``estimator`` to ``path`` (see the module docstring for the layout).

    ``components`` maps the names of parameters or attributes that hold other estimators
    to their classes (e.g. ``{"autoencoder_": DenoisingAutoencoder}``); each one that
    holds an instance of its class is saved as a whole estimator inside the file.

    The file is written to a temporary name beside ``path`` and renamed into place, so an
    interrupted save never leaves a truncated file behind or clobbers an older one.
    """
    from safetensors.torch import save as serialize

    tensors = {}
    document = _document(estimator, tensors, components or {}, prefix="")
    metadata = {
        "format": format_of(type(estimator)),
        "format_version": str(FORMAT_VERSION),
        "sk_dae_version": __version__,
        "sklearn_version": sklearn.__version__,
        "estimator": json.dumps(document, sort_keys=True, allow_nan=False),
    }
    metadata["sha256"] = _checksum(metadata, tensors)
    _write_atomically(Path(path), serialize(tensors, metadata=metadata))


def _document(estimator, tensors, components, *, prefix):
    """The JSON document of ``estimator``, its tensors added to ``tensors`` under names
    starting with ``prefix`` (empty for the saved estimator, ``<name>/`` for a
    component)."""
    state = tensor_state(estimator.__getstate__())
    if hasattr(estimator, "_to_file_state"):
        # Fitted attributes that are not plain data (e.g. an index of neighbours) as the
        # data they are rebuilt from.
        state = estimator._to_file_state(state)
    for name, tensor in (state.get("_module_state") or {}).items():
        tensors[prefix + name] = tensor.detach().cpu().contiguous()
    encode = Encoder(tensors)
    params = estimator.get_params(deep=False)
    nested = {
        name: _document(value, tensors, {}, prefix=prefix + name + _COMPONENT_SEPARATOR)
        for name, value in {**state, **params}.items()
        if name in components and isinstance(value, components[name])
    }
    for name, value in nested.items():
        value["format"] = format_of(components[name])
    attributes = {
        name: value
        for name, value in state.items()
        if name not in params and name not in _FILE_KEYS and name not in nested
    }
    document = {
        "params": {
            name: encode(value, prefix + name)
            for name, value in params.items()
            if name not in nested
        },
        "attributes": {name: encode(value, prefix + name) for name, value in attributes.items()},
        "module_spec": encode(state.get("_module_spec"), prefix + "module_spec"),
    }
    if nested:
        document["components"] = nested
    return document


def _write_atomically(path, payload):
    """Write ``payload`` to a temporary file beside ``path``, then rename it into place.

    mkstemp creates the file with mode 0600; it gets the mode of any other file the user
    writes (0666 less the umask) before it takes the final name.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask():
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def load(path, cls, *, components=None):
    """Read an estimator of class ``cls`` written by :func:`save`.

    ``components`` maps the names of the parameters or attributes that may hold other
    estimators to their classes, as for :func:`save`: only those classes are built.

    Raises ``ValueError`` for a file that is not such a model, is truncated, fails its
    checksum, or was written in a format this version cannot read.
    """
    path = Path(path)
    metadata, tensors = _read(path)
    _check_metadata(path, metadata, tensors, cls)
    try:
        document = json.loads(metadata["estimator"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} has malformed sk_dae metadata: {exc!r}") from None
    version = metadata.get("sk_dae_version", "unknown")
    return _from_document(path, document, cls, tensors, components or {}, "", version)


def _from_document(path, document, cls, tensors, components, prefix, version):
    """The estimator of class ``cls`` that ``document`` describes, its components built
    first (they are parameters or attributes of it)."""
    try:
        decode = Decoder(tensors)
        params = {name: decode(value) for name, value in document["params"].items()}
        attributes = {name: decode(value) for name, value in document["attributes"].items()}
        spec = decode(document["module_spec"])
        nested = dict(document.get("components", {}))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{str(path)!r} has malformed sk_dae metadata: {exc!r}") from None
    known = cls().get_params(deep=False)
    for name, sub_document in nested.items():
        component = _component_class(path, cls, components, name, sub_document)
        sub_prefix = prefix + name + _COMPONENT_SEPARATOR
        # The file's version is reported once, by the estimator saved.
        value = _from_document(path, sub_document, component, tensors, {}, sub_prefix, __version__)
        (params if name in known else attributes)[name] = value
    module_tensors = {
        name[len(prefix) :]: tensor
        for name, tensor in tensors.items()
        if name.startswith(prefix)
        and not name.startswith(TENSOR_PREFIX)
        and _COMPONENT_SEPARATOR not in name[len(prefix) :]
    }
    state = _portable_state_from_file(cls, path, params, attributes, spec, module_tensors)
    state["_sk_dae_version"] = version
    estimator = cls.__new__(cls)
    try:
        state = live_state(state, stacklevel=4, estimator=cls.__name__)
        if hasattr(cls, "_from_file_state"):
            state = cls._from_file_state(state)
        estimator.__dict__.update(state)
    except (RuntimeError, TypeError, KeyError, ValueError, IndexError) as exc:
        raise ValueError(
            f"{str(path)!r} holds weights that do not fit its network description: {exc}"
        ) from None
    return estimator


def _component_class(path, cls, components, name, document):
    """The class of the component ``name`` of ``cls``, as ``cls`` (not the file) says."""
    if name not in components:
        raise ValueError(
            f"{str(path)!r} holds a component {name!r} that {cls.__name__} does not have."
        )
    component = components[name]
    found = document.get("format") if isinstance(document, dict) else None
    if found != format_of(component):
        raise ValueError(
            f"{str(path)!r} holds a component {name!r} of format {found!r}; "
            f"{cls.__name__} expects {format_of(component)!r}."
        )
    return component


def _read(path):
    from safetensors import SafetensorError, safe_open

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
    return metadata, tensors


def _check_metadata(path, metadata, tensors, cls):
    expected, found = format_of(cls), metadata.get("format")
    if isinstance(found, str) and found.startswith(_FORMAT_PREFIX) and found != expected:
        other = found[len(_FORMAT_PREFIX) :]
        raise ValueError(
            f"{str(path)!r} holds a model of class {other!r}, not a {cls.__name__}; load it "
            f"with {other}.load."
        )
    if found != expected:
        raise ValueError(
            f"{str(path)!r} is a safetensors file but not an sk_dae model saved with "
            f"{cls.__name__}.save (its metadata has no format={expected!r} entry)."
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


def _portable_state_from_file(cls, path, params, attributes, spec, tensors):
    """The portable state that the file describes, every name and value checked against
    ``cls``."""
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
    if spec is None:
        if tensors:
            raise ValueError(f"{str(path)!r} holds weights but no network description.")
        return state
    _check_spec(path, spec, tensors)
    try:
        torch.device(state.get("device_", "cpu"))
    except (RuntimeError, TypeError):
        raise ValueError(
            f"{str(path)!r} names an unknown device {state.get('device_')!r}."
        ) from None
    state["_module_spec"] = spec
    state["_module_state"] = tensors
    return state


def _check_spec(path, spec, tensors):
    """Refuse a network description that the saved tensors cannot fill.

    Checked before the network is built, so that a crafted file cannot make loading
    allocate a huge network.
    """
    try:
        widths = [spec["n_features"], *spec["hidden_layer_sizes"], spec["n_components"]]
        if spec.get("architecture", "mlp") == "conv":
            # The channels size weights too; the image must hold the features.
            widths += [*spec["conv_channels"], *spec["image_shape"]]
            widths += [k for stride in spec["conv_strides"] for k in stride]
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
