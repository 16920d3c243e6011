"""Run every gallery example on a tiny budget so that none of them rots."""

import runpy
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, monkeypatch, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SK_DAE_EXAMPLE_QUICK", "1")
    monkeypatch.chdir(tmp_path)
    try:
        with warnings.catch_warnings():
            # The quick budget stops every fit at max_iter on purpose.
            warnings.simplefilter("ignore", ConvergenceWarning)
            runpy.run_path(str(path), run_name="__main__")
        assert plt.get_fignums(), f"{path.name} shows no figure"
    finally:
        plt.close("all")
