"""Seeds drawn from a scikit-learn style ``random_state``, never from global state."""

from __future__ import annotations

from numbers import Integral

import numpy as np


def seeds(random_state, n, *, bits=63):
    """``n`` independent seeds of ``bits`` bits (63 or 32) from ``random_state``.

    ``None`` draws fresh OS entropy instead of numpy's global generator, so fitting never
    changes global random state; an int gives the same seeds every time; a
    ``RandomState`` instance owned by the user is drawn from once.
    """
    if random_state is None:
        entropy = np.random.SeedSequence().entropy
    elif isinstance(random_state, (Integral, np.integer)):
        entropy = int(random_state)
    else:
        entropy = int(random_state.randint(np.iinfo(np.int32).max))
    sequence = np.random.SeedSequence(entropy)
    if bits == 32:
        return [int(s) for s in sequence.generate_state(n, dtype=np.uint32)]
    return [int(s) for s in sequence.generate_state(n, dtype=np.uint64) >> np.uint64(1)]
