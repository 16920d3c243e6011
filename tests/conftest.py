"""Fixtures shared by several test files."""

import pytest

from sk_dae import _threads


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests with one torch thread.

    Tiny networks gain nothing from threads, and on a busy machine spinning threads cost
    more than the work. Tests that exercise threads set their own.
    """
    with _threads.limit(1):
        yield
