"""JSON for the header of a saved model: plain data, with tags for what JSON lacks.

JSON has no tuples, non-finite floats, arrays, dicts with integer keys,
``RandomState`` objects, paths or checkpoints; :class:`Encoder` writes them as tagged objects
(``{"__tuple__": [...]}``, ``{"__float__": "inf"}``,
``{"__ndarray__": [...], "dtype": "<U3"}``, ``{"__intdict__": [[0, ...], ...]}``,
``{"__RandomState__": [...]}``, ``{"__path__": "..."}``, ``{"__Checkpoint__": {...}}``)
and :class:`Decoder` turns them back into plain data, never
into arbitrary types. Tensors are set aside under names starting with
:data:`TENSOR_PREFIX` and referenced as ``{"__tensor__": name}``, so that they travel as
tensors of the safetensors file, not as JSON.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import torch

from .checkpoint import Checkpoint

TENSOR_PREFIX = "sk_dae:"
_TAGS = (
    "__tuple__",
    "__float__",
    "__ndarray__",
    "__intdict__",
    "__tensor__",
    "__RandomState__",
    "__path__",
    "__Checkpoint__",
)


class Encoder:
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
            key = f"{TENSOR_PREFIX}{name}"
            self.tensors[key] = value.detach().cpu().contiguous()
            return {"__tensor__": key}
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
            if value.dtype.kind == "O" and not all(isinstance(v, str) for v in value.ravel()):
                raise TypeError(
                    f"{name} is an object array of non-strings; it cannot be written by save()."
                )
            dtype = value.dtype.str if value.dtype.kind != "O" else "O"
            return {"__ndarray__": value.tolist(), "dtype": dtype}
        if isinstance(value, os.PathLike):
            return {"__path__": os.fspath(value)}
        if isinstance(value, Checkpoint):
            fields = dataclasses.asdict(value)
            return {"__Checkpoint__": {k: self(v, f"{name}.{k}") for k, v in fields.items()}}
        if isinstance(value, np.random.RandomState):
            kind, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            return {"__RandomState__": [kind, keys.tolist(), int(pos), int(has_gauss), cached]}
        raise TypeError(
            f"{name}={value!r} of type {type(value).__name__} cannot be written by save(); "
            "only numbers, strings, tuples, lists, dicts, arrays, tensors and RandomState "
            "instances can. Use pickle or joblib for such estimators."
        )


class Decoder:
    """The inverse of :class:`Encoder`; it builds plain data, arrays and tensors only."""

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
            if not (isinstance(key, str) and key.startswith(TENSOR_PREFIX) and key in self.tensors):
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
        if "__path__" in value:
            if not isinstance(value["__path__"], str):
                raise ValueError(f"bad path {value['__path__']!r}")
            return Path(value["__path__"])
        if "__Checkpoint__" in value:
            fields = {k: self(v) for k, v in value["__Checkpoint__"].items()}
            try:
                return Checkpoint(**fields)
            except TypeError as exc:
                raise ValueError(f"bad checkpoint {fields!r}: {exc}") from None
        if "__RandomState__" in value:
            kind, keys, pos, has_gauss, cached = value["__RandomState__"]
            random_state = np.random.RandomState()
            keys = np.asarray(keys, dtype=np.uint32)
            random_state.set_state((kind, keys, pos, has_gauss, cached))
            return random_state
        return {k: self(v) for k, v in value.items()}
