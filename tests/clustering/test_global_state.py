"""DeepClustering leaves the global random generators alone.

A user's own ``np.random``, ``random`` and torch draws must not depend on whether a
clusterer was fitted in between: ClustPy's DEC and IDEC reseed all three in ``fit``
(``benchmarks/bench_cluster_peers.py`` reports it); ours draw only from their own
generators, seeded from ``random_state``.
"""

import random

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
