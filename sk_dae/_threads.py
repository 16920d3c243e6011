"""Who owns the CPU threads while sk_dae computes.

torch's intra-op thread count is process-wide. By default sk_dae leaves it as torch set it
at import: all cores, or ``OMP_NUM_THREADS`` when that is set, which joblib's loky
workers (``GridSearchCV(n_jobs=k)``, ``cross_val_score(n_jobs=k)``) set to their share of
the cores, so k workers do not oversubscribe the machine. An explicit ``n_threads`` wins
for the duration of one call and is restored afterwards.
"""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def limit(n_threads):
    """Run the block with torch using ``n_threads`` intra-op threads (None: unchanged)."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def current():
    """The number of intra-op threads torch uses now."""
    return torch.get_num_threads()
