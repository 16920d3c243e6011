"""make_dirty_pages: seeded, offline, clean text on white and a dirtier copy of it."""

import numpy as np
import pytest

from sk_dae.datasets import make_dirty_pages

pytest.importorskip("matplotlib")


def test_pages_are_seeded_and_in_range():
    dirty, clean = make_dirty_pages(3, shape=(48, 80), random_state=4)
    again, _ = make_dirty_pages(3, shape=(48, 80), random_state=4)
    other, _ = make_dirty_pages(3, shape=(48, 80), random_state=5)
    assert len(dirty) == len(clean) == 3
    for a, b, c in zip(dirty, again, clean):
        assert a.shape == c.shape == (48, 80) and a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
        assert 0 <= a.min() and a.max() <= 1 and 0 <= c.min() and c.max() <= 1
        # mostly white paper with some dark ink
        assert np.mean(c > 0.9) > 0.6 and np.mean(c < 0.5) > 0.02
        assert np.sqrt(np.mean((a - c) ** 2)) > 0.05
    assert not np.array_equal(dirty[0], other[0])


def test_a_page_too_small_is_refused():
    with pytest.raises(ValueError, match="at least 16x16"):
        make_dirty_pages(1, shape=(8, 80))
