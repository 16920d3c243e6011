"""Tests of sk_dae.datasets: deterministic digits, MNIST lookup order, download, offline."""

import hashlib
import io
import json
import socket
import time
import urllib.error
import urllib.parse

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


@pytest.fixture
def no_network(monkeypatch):
    """Block every connection at the socket level, so nothing leaves the machine.

    The real ``fetch_openml`` runs, so an argument that scikit-learn refuses fails the
    test instead of being swallowed by a stand-in.
    """
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_load_mnist_offline_fails_fast(no_network, no_env_no_cache):
    """No file and no network: an error naming the cache, within seconds, never a hang."""
    start = time.perf_counter()
    with pytest.raises(OSError, match="SK_DAE_MNIST") as info:
        datasets.load_mnist(data_home=no_env_no_cache)
    assert time.perf_counter() - start < 10
    message = str(info.value)
    assert "cannot be downloaded" in message and "network blocked" in message
    assert str(datasets.mnist_cache_path(no_env_no_cache)) in message
    assert no_network  # the download was tried, through the real fetch_openml
    assert socket.getdefaulttimeout() is None  # the download timeout is restored
    assert not datasets.mnist_cache_path(no_env_no_cache).exists()


def test_compare_mnist_offline_exits_with_the_message(
    no_network, no_env_no_cache, monkeypatch, tmp_path, capsys
):
    """``sk-dae compare --dataset mnist`` offline, without any MNIST file: status 2."""
    from sk_dae._experiment.cli import main

    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(no_env_no_cache))
    monkeypatch.chdir(tmp_path)  # no ../shared beside it
    start = time.perf_counter()
    with pytest.raises(SystemExit) as info:
        main(["compare", "--dataset", "mnist", "--quiet", "--output", str(tmp_path / "out")])
    assert time.perf_counter() - start < 60
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "sk-dae: error: MNIST was not found and cannot be downloaded" in err
    assert str(datasets.mnist_cache_path(no_env_no_cache)) in err
    assert "SK_DAE_MNIST" in err


# A tiny OpenML: the answers fetch_openml("mnist_784", version=1) asks for, with nine
# images of 784 pixels. urlopen is replaced inside scikit-learn's OpenML module, so all
# of fetch_openml runs (parameter validation, caching, checksum, ARFF parsing).
_N_FAKE = 9
_FAKE_PIXELS = np.random.default_rng(0).integers(0, 256, (_N_FAKE, 784))
_FAKE_LABELS = np.arange(_N_FAKE) % 10
_FAKE_ARFF = (
    "@RELATION mnist_784\n"
    + "".join(f"@ATTRIBUTE pixel{j + 1} NUMERIC\n" for j in range(784))
    + "@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}\n@DATA\n"
    + "".join(
        ",".join(map(str, row)) + f",{label}\n" for row, label in zip(_FAKE_PIXELS, _FAKE_LABELS)
    )
).encode()


def _fake_openml_answer(url):
    feature = {"data_type": "numeric", "is_target": "false", "is_ignore": "false"}
    feature.update(is_row_identifier="false", number_of_missing_values="0")
    answers = {
        "/api/v1/json/data/list/data_name/mnist_784/limit/2/data_version/1": {
            "data": {"dataset": [{"did": 554, "name": "mnist_784", "version": 1}]}
        },
        "/api/v1/json/data/554": {
            "data_set_description": {
                "id": "554",
                "name": "mnist_784",
                "version": "1",
                "status": "active",
                "format": "ARFF",
                "description": "nine fake digits",
                # scikit-learn >= 1.7 downloads "url", older versions the file_id.
                "url": "https://api.openml.org/data/v1/download/52667/mnist_784.arff",
                "file_id": "52667",
                "md5_checksum": hashlib.md5(_FAKE_ARFF).hexdigest(),
            }
        },
        "/api/v1/json/data/features/554": {
            "data_features": {
                "feature": [
                    {**feature, "index": str(j), "name": f"pixel{j + 1}"} for j in range(784)
                ]
                + [
                    {
                        **feature,
                        "index": "784",
                        "name": "class",
                        "data_type": "nominal",
                        "nominal_value": [str(k) for k in range(10)],
                        "is_target": "true",
                    }
                ]
            }
        },
        "/api/v1/json/data/qualities/554": {
            "data_qualities": {"quality": [{"name": "NumberOfInstances", "value": "9.0"}]}
        },
    }
    path = urllib.parse.urlparse(url).path
    if path.startswith("/data/v1/download/52667"):
        return _FAKE_ARFF
    if path not in answers:
        raise urllib.error.HTTPError(url, 404, f"the fake OpenML has no {path}", {}, None)
    return json.dumps(answers[path]).encode()


class _FakeResponse(io.BytesIO):
    def info(self):
        return {}


@pytest.fixture
def fake_openml(monkeypatch, no_network):
    requested = []

    def urlopen(request, *args, **kwargs):
        url = getattr(request, "full_url", request)
        requested.append(url)
        return _FakeResponse(_fake_openml_answer(url))

    monkeypatch.setattr("sklearn.datasets._openml.urlopen", urlopen)
    return requested


def test_load_mnist_download_fills_the_cache(fake_openml, monkeypatch, no_env_no_cache):
    monkeypatch.setattr(datasets, "_MNIST_N_TRAIN", 6)  # OpenML's split is 60,000 / 10,000
    data = datasets.load_mnist(data_home=no_env_no_cache)
    assert fake_openml and all(url.startswith("https://") for url in fake_openml)
    assert data.X_train.shape == (6, 784) and data.X_test.shape == (3, 784)
    np.testing.assert_array_equal(data.X_train, (_FAKE_PIXELS[:6] / 255).astype(np.float32))
    np.testing.assert_array_equal(data.y_test, [6, 7, 8])
    cache = datasets.mnist_cache_path(no_env_no_cache)
    assert cache.is_file() and [p.name for p in cache.parent.iterdir()] == [cache.name]
    # The second call reads the cache and asks OpenML nothing.
    n_requests = len(fake_openml)
    again = datasets.load_mnist(data_home=no_env_no_cache)
    np.testing.assert_array_equal(again.y_train, data.y_train)
    assert len(fake_openml) == n_requests


def test_load_npz_checks_keys(tmp_path):
    file = tmp_path / "bad.npz"
    np.savez(file, X_train=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="X_test"):
        datasets.load_npz(file)
    with pytest.raises(FileNotFoundError):
        datasets.load_npz(tmp_path / "missing.npz")
