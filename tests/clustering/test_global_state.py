"""DeepClustering leaves the global random generators alone.

A user's own ``np.random``, ``random`` and torch draws must not depend on whether a
clusterer was fitted in between: ClustPy's DEC and IDEC reseed all three in ``fit``
(``benchmarks/bench_cluster_peers.py`` reports it); ours draw only from their own
generators, seeded from ``random_state``. Nor do they leave torch's thread count changed,
also when a UMAP step (numba) runs inside them.
"""

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from sk_dae import DenoisingAutoencoder
from sk_dae.clustering import DeepClustering

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.usefixtures("one_torch_thread"),
]


def global_states():
    return np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state().clone()


def assert_unchanged(before):
    numpy_state, python_state, torch_state = global_states()
    np.testing.assert_array_equal(numpy_state, before[0])
    assert python_state == before[1]
    assert torch.equal(torch_state, before[2])


@pytest.mark.parametrize(("method", "random_state"), [("idec", 0), ("dec", None)])
def test_fit_and_predict_leave_the_global_generators_unchanged(digits, method, random_state):
    X = digits[0][:300]
    autoencoder = DenoisingAutoencoder(
        n_components=10, hidden_layer_sizes=(32,), max_iter=3, batch_size=64
    )
    model = DeepClustering(
        10, autoencoder=autoencoder, method=method, max_iter=2, random_state=random_state
    )
    np.random.seed(7)
    random.seed(7)
    torch.manual_seed(7)
    before = global_states()
    model.fit(X)
    model.predict(X)
    model.transform(X)
    assert_unchanged(before)


UMAP_FITS = {
    "pipeline": "make_clustering_pipeline(3, embedding='umap', max_iter=2, random_state=0)",
    "own UMAP": "DeepClustering(3, manifold=umap.UMAP(n_components=3, random_state=0), "
    "max_iter=1, random_state=0)",
}


@pytest.mark.parametrize("fit", UMAP_FITS)
def test_a_umap_step_keeps_the_users_torch_thread_count(fit):
    # numba sets OpenMP's (so torch's) thread count to every core when it starts its pool,
    # once per process: only a fresh interpreter shows it. NUMBA_NUM_THREADS=2 makes the
    # change visible on a one-core machine too.
    pytest.importorskip("umap")
    script = "\n".join(
        [
            "import warnings; warnings.simplefilter('ignore')",
            "import torch, umap",
            "from sklearn.datasets import load_iris",
            "from sk_dae.clustering import DeepClustering, make_clustering_pipeline",
            "torch.set_num_threads(1)",
            f"{UMAP_FITS[fit]}.fit(load_iris().data)",
            "print(torch.get_num_threads())",
        ]
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "1"
