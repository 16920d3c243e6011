"""Reset hook of the example gallery: every example starts with torch's own thread count.

sphinx-gallery runs all examples in one process. umap-learn's numba kernels set the
process's OpenMP thread count to every core, which torch then uses for the rest of the
build, so an example after ``plot_clustering.py`` would run with more threads than its
author (or a user running it alone) gets. Listed in ``reset_modules`` of ``conf.py``.
"""

import torch

# Read when sphinx-gallery resolves its configuration, before any example runs.
THREADS = torch.get_num_threads()


def reset_torch_threads(gallery_conf, fname):
    """Give torch the thread count it had when the build started."""
    torch.set_num_threads(THREADS)
