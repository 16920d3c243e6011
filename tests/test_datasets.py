"""Tests of sk_dae.datasets: deterministic digits, MNIST lookup order, offline failure."""

import socket
import time
import urllib.error

import numpy as np
import pytest

from sk_dae import datasets


def _write_mnist(path, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        X_train=rng.integers(0, 256, (n_train, 784), dtype=np.uint8),
        y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
        X_test=rng.integers(0, 256, (n_test, 784), dtype=np.uint8),
        y_test=rng.integers(0, 10, n_test, dtype=np.uint8),
    )
    return path


def test_load_digits_is_deterministic_scaled_and_stratified():
    a, b = datasets.load_digits(), datasets.load_digits()
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.X_train.dtype == np.float32
    assert a.X_train.min() == 0.0 and a.X_train.max() == 1.0
    assert len(a.X_train) + len(a.X_test) == 1797
    assert set(np.unique(a.y_test)) == set(range(10))
    c = datasets.load_digits(random_state=1)
    assert not np.array_equal(a.y_test, c.y_test)


@pytest.fixture
def no_env_no_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(datasets.MNIST_ENV_VAR, raising=False)
    return tmp_path / "data_home"


def test_load_mnist_from_path(tmp_path, no_env_no_cache):
    file = _write_mnist(tmp_path / "m.npz")
    data = datasets.load_mnist(file, data_home=no_env_no_cache)
    assert data.X_train.shape == (6, 784) and data.X_test.shape == (4, 784)
    assert data.X_train.dtype == np.float32 and data.X_train.max() <= 1.0
    assert data.image_shape == (28, 28)


def test_load_mnist_from_env_then_cache(tmp_path, monkeypatch, no_env_no_cache):
    file = _write_mnist(tmp_path / "env.npz", n_train=3)
    monkeypatch.setenv(datasets.MNIST_ENV_VAR, str(file))
    assert datasets.load_mnist(data_home=no_env_no_cache).X_train.shape[0] == 3

    monkeypatch.delenv(datasets.MNIST_ENV_VAR)
    cache = datasets.mnist_cache_path(no_env_no_cache)
    cache.parent.mkdir(parents=True)
    _write_mnist(cache, n_train=5)
    assert datasets.load_mnist(data_home=no_env_no_cache).X_train.shape[0] == 5


def test_load_mnist_missing_path_names_it(tmp_path, no_env_no_cache):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        datasets.load_mnist(tmp_path / "nope.npz", data_home=no_env_no_cache)


def test_load_mnist_without_download_says_where_to_put_the_file(no_env_no_cache):
    cache = datasets.mnist_cache_path(no_env_no_cache)
    with pytest.raises(FileNotFoundError, match=str(cache).replace("\\", "\\\\")):
        datasets.load_mnist(data_home=no_env_no_cache, download=False)


def test_load_mnist_offline_fails_fast(monkeypatch, no_env_no_cache):
    """No file and no network: an error naming the cache, at once, never a hang."""
    calls = []

    def offline(*args, **kwargs):
        calls.append(kwargs)
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr("sklearn.datasets.fetch_openml", offline)
    start = time.perf_counter()
    with pytest.raises(OSError, match="SK_DAE_MNIST") as info:
        datasets.load_mnist(data_home=no_env_no_cache)
    assert time.perf_counter() - start < 5
    assert str(datasets.mnist_cache_path(no_env_no_cache)) in str(info.value)
    assert len(calls) == 1
    assert socket.getdefaulttimeout() is None  # the download timeout is restored


def test_load_mnist_download_fills_the_cache(monkeypatch, no_env_no_cache):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (9, 784)).astype(np.float64)
    y = np.array([str(i % 10) for i in range(9)], dtype=object)
    monkeypatch.setattr("sklearn.datasets.fetch_openml", lambda *a, **k: (X, y))
    monkeypatch.setattr(datasets, "_MNIST_N_TRAIN", 6)  # OpenML's split is 60,000 / 10,000
    data = datasets.load_mnist(data_home=no_env_no_cache)
    assert data.X_train.shape == (6, 784) and data.X_test.shape == (3, 784)
    assert datasets.mnist_cache_path(no_env_no_cache).is_file()
    np.testing.assert_array_equal(data.y_test, [6, 7, 8])


def test_load_npz_checks_keys(tmp_path):
    file = tmp_path / "bad.npz"
    np.savez(file, X_train=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="X_test"):
        datasets.load_npz(file)
    with pytest.raises(FileNotFoundError):
        datasets.load_npz(tmp_path / "missing.npz")
