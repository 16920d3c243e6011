"""Checkpoints: a fit killed mid-way resumes, in a new process, to the uninterrupted result."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import interrupt_at_step
from sklearn.exceptions import ConvergenceWarning

import sk_dae
from sk_dae import Checkpoint, DenoisingAutoencoder
from sk_dae._core.checkpoint import Writer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Dropout, held-out rows and the cosine schedule: every kind of state a resume restores.
PARAMS = dict(
    n_components=4,
    hidden_layer_sizes=(32,),
    batch_size=64,
    dropout=0.1,
    early_stopping=True,
    random_state=0,
    n_threads=1,
)


@pytest.fixture(scope="module")
def X(digits):
    return np.ascontiguousarray(digits[0][:400])


def fit_quiet(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def assert_same_fit(a, b, X):
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.loss_curve_ == b.loss_curve_
    assert a.validation_scores_ == b.validation_scores_
    for name in ("n_iter_", "t_", "best_validation_score_"):
        assert getattr(a, name) == getattr(b, name)


CHILD = """
import sys
import numpy as np
from sk_dae import DenoisingAutoencoder
X = np.load(sys.argv[1])
DenoisingAutoencoder(**{params!r}, max_iter={max_iter}, checkpoint=sys.argv[2]).fit(X)
"""


def test_a_process_killed_mid_fit_resumes_to_the_uninterrupted_result(X, tmp_path):
    max_iter = 30
    np.save(tmp_path / "X.npy", X)
    path = tmp_path / "fit.ckpt"
    script = textwrap.dedent(CHILD.format(params=PARAMS, max_iter=max_iter))
    root = str(Path(sk_dae.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "X.npy"), str(path)],
        env=env,
        stderr=subprocess.PIPE,
    )
    # The uninterrupted fit runs while the child starts.
    with interrupt_at_step(0) as all_steps:  # counts the optimizer steps, interrupts none
        uninterrupted = fit_quiet(DenoisingAutoencoder(**PARAMS, max_iter=max_iter), X)
    deadline = time.monotonic() + 120
    while not path.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    _, stderr = child.communicate()
    assert child.returncode == -signal.SIGKILL, stderr.decode()
    saved = torch.load(path, weights_only=True)
    assert 1 <= saved["training"]["result"]["n_iter"] < max_iter

    resumed = DenoisingAutoencoder(**PARAMS, max_iter=max_iter, checkpoint=path)
    with interrupt_at_step(0) as steps:
        fit_quiet(resumed, X)
    assert 0 < steps[0] < all_steps[0]  # it did resume
    assert_same_fit(resumed, uninterrupted, X)
    assert resumed.n_iter_ > saved["training"]["result"]["n_iter"]
    assert not path.exists()  # a completed fit removes its checkpoint


def test_ctrl_c_keeps_the_checkpoint_and_a_later_fit_resumes(X, tmp_path):
    # Resumed from a checkpoint of an early epoch, with PCA start and the defaults.
    path = tmp_path / "fit.ckpt"
    params = dict(n_components=4, random_state=0, n_threads=1, max_iter=6)
    with interrupt_at_step(20), pytest.warns(UserWarning, match="interrupted"):
        DenoisingAutoencoder(**params, checkpoint=Checkpoint(path)).fit(X)
    assert torch.load(path, weights_only=True)["training"]["result"]["n_iter"] >= 1
    resumed = fit_quiet(DenoisingAutoencoder(**params, checkpoint=str(path)), X)
    assert_same_fit(resumed, fit_quiet(DenoisingAutoencoder(**params), X), X)


def _interrupted_checkpoint(X, path, **params):
    with interrupt_at_step(15), pytest.warns(UserWarning, match="interrupted"):
        DenoisingAutoencoder(**{**PARAMS, **params}, max_iter=5, checkpoint=path).fit(X)
    assert path.exists()


def test_a_checkpoint_of_another_fit_is_refused(X, tmp_path):
    path = tmp_path / "fit.ckpt"
    _interrupted_checkpoint(X, path)
    other_params = DenoisingAutoencoder(**PARAMS, max_iter=5, alpha=1e-3, checkpoint=path)
    with pytest.raises(ValueError, match="another fit"):
        other_params.fit(X)
    assert not hasattr(other_params, "module_")
    with pytest.raises(ValueError, match="another fit"):
        DenoisingAutoencoder(**PARAMS, max_iter=5, checkpoint=path).fit(X[:-1])
    # Neither threads nor verbosity make another fit.
    fit_quiet(DenoisingAutoencoder(**PARAMS | {"n_threads": None}, max_iter=5, checkpoint=path), X)


def test_a_file_that_is_no_checkpoint_is_refused_without_running_code(X, tmp_path):
    path = tmp_path / "fit.ckpt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable sk_dae checkpoint"):
        DenoisingAutoencoder(**PARAMS, max_iter=2, checkpoint=path).fit(X)
    # A pickle of an arbitrary object: torch.load(weights_only=True) refuses to build it.
    torch.save({"format": "sk_dae.checkpoint", "payload": Path("x")}, path)
    with pytest.raises(ValueError, match="not a readable sk_dae checkpoint"):
        DenoisingAutoencoder(**PARAMS, max_iter=2, checkpoint=path).fit(X)
    torch.save({"format": "something else"}, path)
    with pytest.raises(ValueError, match="not an sk_dae checkpoint"):
        DenoisingAutoencoder(**PARAMS, max_iter=2, checkpoint=path).fit(X)


def test_writes_are_due_every_n_epochs_or_minutes(tmp_path, monkeypatch):
    writer = Writer(Checkpoint(tmp_path / "a", every_epochs=3), {})
    assert [epoch for epoch in range(1, 8) if writer.due(epoch)] == [3, 4, 5, 6, 7]
    writer.last_epoch = 3
    assert [epoch for epoch in range(4, 8) if writer.due(epoch)] == [6, 7]
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    writer = Writer(Checkpoint(tmp_path / "b", every_epochs=None, every_minutes=2), {})
    clock[0] += 119
    assert not writer.due(50)
    clock[0] += 1
    assert writer.due(50)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"path": 3}, "path"),
        ({"path": "a", "every_epochs": 0}, "every_epochs"),
        ({"path": "a", "every_minutes": -1.0}, "every_minutes"),
        ({"path": "a", "every_epochs": None}, "both be None"),
    ],
)
def test_bad_checkpoint_settings_are_refused(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        Checkpoint(**kwargs)


def test_the_checkpoint_parameter_survives_save_and_load(tmp_path):
    for checkpoint in (str(tmp_path / "a"), tmp_path / "a", Checkpoint(tmp_path / "a", 2, 5.0)):
        model = DenoisingAutoencoder(checkpoint=checkpoint)
        model.save(tmp_path / "model.safetensors")
        assert DenoisingAutoencoder.load(tmp_path / "model.safetensors").checkpoint == checkpoint


def test_a_checkpoint_of_a_gpu_fit_resumes_on_the_cpu(X, tmp_path):
    # A GPU fit's checkpoint holds CPU tensors and the device it was written on; its
    # generator's state cannot continue on the CPU, so the random stream starts anew.
    path = tmp_path / "fit.ckpt"
    _interrupted_checkpoint(X, path)
    saved = torch.load(path, weights_only=True)
    saved["device"] = "cuda"
    saved["training"]["generator"] = torch.zeros(16, dtype=torch.uint8)  # not a CPU state
    torch.save(saved, path)
    model = DenoisingAutoencoder(**PARAMS, max_iter=5, checkpoint=path)
    with pytest.warns(UserWarning, match="written by a fit on cuda"):
        fit_quiet(model, X)
    assert model.n_iter_ == 5 and not path.exists()


class KilledAtWrite(Exception):
    pass


def killed_at_write(monkeypatch, n):
    """Make the ``n``-th checkpoint write end the fit, as a killed process would: the
    file written, nothing after it."""
    write, count = Writer.write, [0]

    def dying_write(self, state):
        write(self, state)
        count[0] += 1
        if count[0] == n:
            raise KilledAtWrite

    monkeypatch.setattr(Writer, "write", dying_write)


@pytest.mark.parametrize("killed_in", ["pretraining", "fine-tuning"])
def test_deep_clustering_resumes_pretraining_and_fine_tuning(X, tmp_path, monkeypatch, killed_in):
    from sk_dae import DeepClustering

    X = X[:200]

    def make(**params):
        autoencoder = DenoisingAutoencoder(
            n_components=4, hidden_layer_sizes=(32,), max_iter=4, batch_size=64, n_threads=1
        )
        return DeepClustering(
            n_clusters=4,
            autoencoder=autoencoder,
            max_iter=4,
            n_init=1,
            tol=0.0,
            random_state=0,
            **params,
        )

    path = tmp_path / "clusters.ckpt"
    pretraining = Path(str(path) + ".pretraining")
    with monkeypatch.context() as patch:
        killed_at_write(patch, 2 if killed_in == "pretraining" else 4 + 2)
        with pytest.raises(KilledAtWrite):
            fit_quiet(make(checkpoint=path), X)
    assert pretraining.exists() and path.exists() == (killed_in == "fine-tuning")
    with interrupt_at_step(0) as resumed_steps:  # counts the optimizer steps
        resumed = fit_quiet(make(checkpoint=path), X)
    with interrupt_at_step(0) as all_steps:
        uninterrupted = fit_quiet(make(), X)
    assert resumed_steps[0] < all_steps[0]  # it did resume
    for name in ("cluster_centers_", "labels_", "loss_curve_", "label_changes_", "n_iter_"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(uninterrupted, name))
    np.testing.assert_array_equal(resumed.transform(X), uninterrupted.transform(X))
    assert not path.exists() and not pretraining.exists()
    assert resumed.autoencoder_.checkpoint is None
