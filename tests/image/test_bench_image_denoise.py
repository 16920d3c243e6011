"""benchmarks/bench_image_denoise.py keeps working: its quick runs (seconds, tiny fits)."""

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("skimage")
pytest.importorskip("matplotlib")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_image_denoise", BENCHMARKS / "bench_image_denoise.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize("part", ["collection", "one", "self", "pages"])
def test_quick_runs(bench, part, tmp_path):
    output = tmp_path / f"{part}.md"
    text = bench.main(["--quick", "--threads", "1", "--part", part, "--output", str(output)])
    assert output.read_text().strip() == text.strip()
    assert "| ImageDenoiser" in text or "ImageDenoiser |" in text


def test_every_set_option_counts(bench):
    # A lever run gives two settings as --set A --set B as often as --set A B.
    text = bench.main(
        ["--quick", "--threads", "1", "--methods", "--set", "width=8", "--set", "depth=3"]
    )
    assert ", width=8" in text and ", depth=3" in text
