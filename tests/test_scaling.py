"""Scaling past one process: partial_fit streaming, dask-ml on a local cluster, the GPU.

The Dask tests start a real ``dask.distributed`` cluster on the loopback interface (TCP,
two workers) and close it at the end of the module. They are skipped where the optional
``dask`` extra is not installed; CI installs it through the ``dev`` extra.
"""

import pickle

import numpy as np
import pytest
import torch
from conftest import small as small_model
from sklearn.model_selection import GridSearchCV

from sk_dae import DenoisingAutoencoder

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# Trainings in these tests stop at a small max_iter on purpose (they compare two ways of
# running the same epochs, not converged models); sk_dae says so with ConvergenceWarning.
short_training = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def split(digits):
    """1,500 digits to train on and 297 to test on, float32."""
    X = digits[0].astype(np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    return X[order[:1500]], X[order[1500:]]


def small(**params):
    # n_threads=1: identical float results wherever the model runs (a dask worker or
    # here), and no oversubscription of a small machine by several workers. The CPU
    # unless a test asks for CUDA, so that bit-for-bit comparisons hold on GPU machines.
    return small_model(**{"n_threads": 1, "device": "cpu", **params})


def stream(model, chunks, passes):
    for _ in range(passes):
        for chunk in chunks:
            model.partial_fit(chunk)
    return model


# ------------------------------------------------------------------ partial_fit


@short_training
def test_partial_fit_calls_are_the_epochs_of_fit(split):
    # One call is one epoch that continues the network, the optimizer and the noise
    # stream: k calls on the whole set are bit for bit fit(max_iter=k).
    X = split[0][:600]
    fitted = small(max_iter=3, tol=0.0).fit(X)
    streamed = stream(small(), [X], passes=3)
    assert streamed.n_iter_ == fitted.n_iter_ == 3
    assert streamed.t_ == fitted.t_ == 3 * len(X)
    assert streamed.loss_curve_ == fitted.loss_curve_
    np.testing.assert_array_equal(streamed.transform(X), fitted.transform(X))


@pytest.mark.parametrize("params", [{}, {"optimizer": "sgd", "noise": "masking", "dropout": 0.1}])
def test_partial_fit_continues_exactly_after_a_pickle_round_trip(split, params):
    # dask_ml's Incremental and joblib move the model between calls by pickle; the
    # optimizer's moments and the noise generator must travel with it.
    chunks = np.array_split(split[0][:600], 3)
    in_memory = stream(small(**params), chunks, passes=2)
    travelling = small(**params)
    for _ in range(2):
        for chunk in chunks:
            travelling = pickle.loads(pickle.dumps(travelling.partial_fit(chunk)))
    assert travelling.loss_curve_ == in_memory.loss_curve_
    np.testing.assert_array_equal(travelling.transform(chunks[0]), in_memory.transform(chunks[0]))


@short_training
def test_streaming_in_chunks_reaches_the_error_of_fit(split):
    X_train, X_test = split
    baseline = np.mean((X_test - X_train.mean(axis=0)) ** 2)  # predict the mean image
    passes = 10
    fitted = small(max_iter=passes, tol=0.0).fit(X_train)
    streamed = stream(small(), np.array_split(X_train, 3), passes)
    fit_error, stream_error = -fitted.score(X_test), -streamed.score(X_test)
    # Both learned the digits (a third below the mean image's error; an untrained or
    # re-initialised network is above it) and streaming is within 10% of fit (measured
    # ratios 0.97 to 1.01 over seeds 0-2; training on only the last chunk is ~1.7x).
    assert fit_error < 0.67 * baseline
    assert stream_error < 1.10 * fit_error
    assert streamed.n_iter_ == 3 * passes and streamed.t_ == passes * len(X_train)


def test_partial_fit_streams_from_a_memmap(split, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, split[0][:600])
    X_disk = np.load(path, mmap_mode="r")  # read-only pages, loaded on demand
    chunks = [X_disk[start : start + 200] for start in range(0, 600, 200)]
    from_disk = stream(small(), chunks, passes=2)
    from_memory = stream(small(), np.array_split(split[0][:600], 3), passes=2)
    np.testing.assert_array_equal(from_disk.transform(X_disk), from_memory.transform(X_disk))


# ------------------------------------------------------------------ dask


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask_ml")
    # Workers are threads of this process talking TCP on loopback: every task result
    # that moves between workers or to the scheduler is pickled as on a real cluster,
    # without the seconds each worker process would spend importing torch.
    threads = torch.get_num_threads()
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        # torch's thread count is process-wide and the workers shared this process.
        torch.set_num_threads(threads)


def test_incremental_trains_block_by_block_on_the_cluster(dask_client, split):
    import dask.array as da
    from dask_ml.wrappers import Incremental
    from distributed import get_task_stream

    X_train, X_test = split
    X = da.from_array(X_train, chunks=(250, -1))  # 6 blocks
    incremental = Incremental(small(), shuffle_blocks=True, random_state=0)
    with get_task_stream(dask_client) as tasks:
        incremental.fit(X)  # one pass over the blocks, one partial_fit call each
        incremental.partial_fit(X)  # a second pass, continuing the fitted model
    assert {task["worker"] for task in tasks.data} <= set(dask_client.scheduler_info()["workers"])
    assert tasks.data

    # The same blocks in the same order, streamed here: the same model, bit for bit.
    order = list(range(X.numblocks[0]))
    np.random.RandomState(0).shuffle(order)
    blocks = np.array_split(X_train, X.numblocks[0])
    local = stream(small(), [blocks[i] for i in order], passes=2)
    model = incremental.estimator_
    assert model.n_iter_ == 2 * X.numblocks[0]  # each call saw one block only
    assert model.t_ == 2 * len(X_train)
    assert model.loss_curve_ == local.loss_curve_
    np.testing.assert_array_equal(model.transform(X_test), local.transform(X_test))


@short_training
def test_parallel_post_fit_transforms_a_dask_array_block_by_block(dask_client, split):
    import dask.array as da
    from dask_ml.wrappers import ParallelPostFit
    from distributed import get_task_stream

    X_train, X_test = split
    dae = small(max_iter=3).fit(X_train)
    X = da.from_array(X_test, chunks=(100, -1))
    codes = ParallelPostFit(dae).transform(X)
    assert isinstance(codes, da.Array)  # lazy: nothing computed yet
    with get_task_stream(dask_client) as tasks:
        computed = codes.compute()
    assert len(tasks.data) >= X.numblocks[0]  # one task a block, on the workers
    np.testing.assert_array_equal(computed, dae.transform(X_test))
    # dask-ml 2025.1 declares the input's chunks for the output ((297, 64) here, not
    # (297, 8)); map_blocks with the output chunks, as docs/scaling.rst shows, is exact.
    lazy = X.map_blocks(dae.transform, chunks=(X.chunks[0], (8,)), dtype=X.dtype)
    assert lazy.shape == (len(X_test), 8)
    np.testing.assert_array_equal(lazy.compute(), computed)


@short_training
def test_grid_search_under_the_dask_backend_matches_a_local_search(dask_client, split):
    import joblib
    from distributed import get_task_stream

    X = split[0][:400]
    grid = {"n_components": [2, 8], "noise_level": [0.1, 0.4]}
    local = GridSearchCV(small(max_iter=4), grid, cv=2).fit(X)
    with get_task_stream(dask_client) as tasks, joblib.parallel_backend("dask"):
        remote = GridSearchCV(small(max_iter=4), grid, cv=2, n_jobs=-1).fit(X)
    assert tasks.data  # the fits ran as tasks on the cluster's workers
    assert remote.best_params_ == local.best_params_
    assert remote.best_params_["n_components"] == 8
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-6
    )


# ------------------------------------------------------------------ GPU


def test_pickle_from_a_gpu_loads_on_cpu_and_partial_fit_continues(split, monkeypatch):
    # What a CUDA-fitted model's pickle holds (CPU tensors, device_="cuda:0"), loaded on
    # a machine without CUDA; the real round trip is test_cuda_model_pickles_to_cpu.
    chunks = np.array_split(split[0][:600], 3)
    dae = stream(small(), chunks, passes=1)
    state = dae.__getstate__()
    state["device_"] = "cuda:0"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored = DenoisingAutoencoder.__new__(DenoisingAutoencoder)
    restored.__setstate__(state)
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_array_equal(restored.transform(chunks[0]), dae.transform(chunks[0]))
    # A CUDA noise generator cannot continue on the CPU: fresh noise, same optimizer.
    restored.set_params(device="cpu").partial_fit(chunks[0])
    assert restored.n_iter_ == 4 and np.isfinite(restored.loss_curve_[-1])


@requires_cuda
@short_training
def test_cuda_fit_partial_fit_and_transform(split):
    X_train, X_test = split
    dae = small(device="cuda", max_iter=5).fit(X_train)
    assert dae.device_.type == "cuda"
    assert all(p.device.type == "cuda" for p in dae.module_.parameters())
    codes = dae.transform(X_test)
    assert isinstance(codes, np.ndarray) and codes.dtype == np.float32
    assert codes.shape == (len(X_test), 8)
    assert dae.transform(X_test.astype(np.float64)).dtype == np.float64
    dae.partial_fit(X_train[:300])
    assert dae.n_iter_ == 6 and dae.device_.type == "cuda"
    assert -dae.score(X_test) < np.mean((X_test - X_train.mean(axis=0)) ** 2)
    assert small(device="auto", max_iter=1).fit(X_test).device_.type == "cuda"


@requires_cuda
@short_training
def test_cuda_model_pickles_to_cpu(split, monkeypatch):
    X_train, X_test = split
    dae = small(device="cuda", max_iter=5).fit(X_train)
    expected = dae.transform(X_test)
    state = dae.__getstate__()
    tensors = list(state["_module_state"].values()) + [
        value
        for per_param in state["_optimizer_state"]["state"].values()
        for value in per_param.values()
        if torch.is_tensor(value)
    ]
    assert all(tensor.device.type == "cpu" for tensor in tensors)
    blob = pickle.dumps(dae)

    on_gpu = pickle.loads(blob)  # where CUDA is, the model goes back to it
    assert on_gpu.device_.type == "cuda"
    np.testing.assert_array_equal(on_gpu.transform(X_test), expected)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    on_cpu = pickle.loads(blob)
    assert on_cpu.device_ == torch.device("cpu")
    # Different kernels, same float32 weights: equal up to float32 rounding.
    np.testing.assert_allclose(on_cpu.transform(X_test), expected, rtol=1e-4, atol=1e-5)
    on_cpu.set_params(device="cpu").partial_fit(X_train[:300])
    assert on_cpu.n_iter_ == 6
