"""``precision="bfloat16"``: mixed-precision training, float32 everywhere else."""

import contextlib
import warnings

import numpy as np
import pytest
import torch

from sk_dae import DenoisingAutoencoder
from sk_dae.clustering import DeepClustering

#: The warning of bfloat16 on a CPU that PyTorch emulates it on (as this project's CI
#: machine may be); the tests below that are not about it ignore it.
EMULATED = "precision='bfloat16' on this CPU"

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings(f"ignore:{EMULATED}:UserWarning"),
]


def _cpu_emulates_bfloat16():
    """What PyTorch itself says: oneDNN has no bfloat16 kernels for this CPU."""
    return not torch.ops.mkldnn._is_mkldnn_bf16_supported()


@contextlib.contextmanager
def _warns_where_emulated():
    """The block warns that bfloat16 is slow where PyTorch emulates it, and does not
    warn where the CPU multiplies it natively."""
    if _cpu_emulates_bfloat16():
        with pytest.warns(UserWarning, match=EMULATED) as record:
            yield
        assert sum(EMULATED in str(w.message) for w in record) == 1, [str(w) for w in record]
    else:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=EMULATED)
            yield


@contextlib.contextmanager
def _training_product_dtypes():
    """The dtypes of every ``nn.Linear`` output computed with grad enabled (training)
    inside the block, through torch's global forward hook."""
    seen = set()

    def hook(layer, inputs, output):
        if isinstance(layer, torch.nn.Linear) and torch.is_grad_enabled():
            seen.add(output.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def _fit(X, precision, **params):
    params = dict(n_components=8, hidden_layer_sizes=(64,), max_iter=30, random_state=0) | params
    # No early stopping: a held-out split could keep the (float32) PCA start.
    return DenoisingAutoencoder(precision=precision, early_stopping=False, **params).fit(X)


def test_bfloat16_training_reconstructs_as_well_as_float32(digits):
    X = digits[0][:600]
    full, mixed = _fit(X, "float32"), _fit(X, "bfloat16")
    error = {
        name: float(np.mean((model.inverse_transform(model.transform(X)) - X) ** 2))
        for name, model in (("float32", full), ("bfloat16", mixed))
    }
    assert error["bfloat16"] <= 1.05 * error["float32"], error
    # The rounding changes the fit: the parameter is not ignored.
    assert not np.array_equal(full.transform(X), mixed.transform(X))


def test_bfloat16_keeps_the_model_and_its_output_float32(digits):
    model = _fit(digits[0][:300], "bfloat16", max_iter=2)
    assert {p.dtype for p in model.module_.parameters()} == {torch.float32}
    assert model.transform(digits[0][:5].astype(np.float32)).dtype == np.float32
    # The optimizer's moments, which a warm start continues.
    state = model._optimizer.state_dict()["state"]
    assert {v.dtype for s in state.values() for v in s.values() if v.ndim} == {torch.float32}


def test_bfloat16_fits_are_reproducible(digits):
    X = digits[0][:300]
    a, b = _fit(X, "bfloat16", max_iter=3), _fit(X, "bfloat16", max_iter=3)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_the_network_multiplies_in_bfloat16_only_while_training(digits):
    X = digits[0][:300]
    with _training_product_dtypes() as seen:
        model = _fit(X, "bfloat16", max_iter=1)
    assert seen == {torch.bfloat16}
    with _training_product_dtypes() as seen:
        _fit(X, "float32", max_iter=1)
    assert seen == {torch.float32}
    with _training_product_dtypes() as seen, torch.enable_grad():
        out = model.transform(X)
    assert out.dtype == np.float64 and seen <= {torch.float32}


def test_deep_clustering_fine_tunes_in_the_autoencoder_s_precision(digits):
    X = digits[0][:300]
    dae = _fit(X, "bfloat16", n_components=10, max_iter=5)
    model = DeepClustering(10, autoencoder=dae, prefit=True, max_iter=2, random_state=0)
    with _training_product_dtypes() as seen:
        model.fit(X)
    assert seen == {torch.bfloat16}
    assert model.autoencoder_.precision == "bfloat16"
    assert {p.dtype for p in model.autoencoder_.module_.parameters()} == {torch.float32}


def test_an_unknown_precision_is_a_value_error(digits):
    with pytest.raises(ValueError, match="precision"):
        DenoisingAutoencoder(precision="float16").fit(digits[0][:50])


def test_bfloat16_on_a_cpu_without_its_kernels_warns_once_per_fit(digits):
    X = digits[0][:200]
    with _warns_where_emulated():
        dae = _fit(X, "bfloat16", n_components=10, max_iter=1)
    # A prefitted autoencoder fine-tunes in bfloat16 too; the pretraining in a fit warns
    # for both.
    with _warns_where_emulated():
        DeepClustering(10, autoencoder=dae, prefit=True, max_iter=1, random_state=0).fit(X)
    with _warns_where_emulated():
        DeepClustering(10, autoencoder=_bf16_autoencoder(), max_iter=1, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=EMULATED)
        _fit(X, "float32", max_iter=1)


def _bf16_autoencoder():
    return DenoisingAutoencoder(10, hidden_layer_sizes=(32,), max_iter=1, precision="bfloat16")
