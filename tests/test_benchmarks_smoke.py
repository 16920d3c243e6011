"""A tiny run of every benchmark script, so that they keep working (not a timing test)."""

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name):
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return load


def test_bench_fit_quick(bench, tmp_path):
    output = tmp_path / "fit.md"
    text = bench("bench_fit").main(["--quick", "--threads", "1", "--output", str(output)])
    assert output.read_text().strip() == text.strip()
    for name in (
        "torch loop, noise",
        "sk_dae fit, noise",
        "skorch, noise",
        "torch loop, no noise",
        "sk_dae fit, noise=None",
        "MLPRegressor, no noise",
    ):
        assert f"| {name} " in text
    assert "FLOP floor" in text and "nan" not in text


def test_bench_fit_flop_count(bench):
    module = bench("bench_fit")
    # Mirrored 784-128-32: forward, and twice that backward less the input gradient of
    # the first layer; 2 FLOPs per multiply-add.
    widths = [784, 128, 32, 128, 784]
    per_row = 2 * (784 * 128 + 128 * 32)
    expected = 2 * 10 * (3 * per_row - 784 * 128)
    assert module.epoch_flops(widths, 10) == expected


def test_bench_transform_quick(bench, tmp_path):
    text = bench("bench_transform").main(["--quick", "--threads", "1", "--tmpdir", str(tmp_path)])
    names = ("PCA.transform", "DenoisingAutoencoder.transform", "float32 memmap", "uint8 memmap")
    for name in names:
        assert f"| {name} " in text
    assert not list(tmp_path.iterdir())  # the memmaps are removed


def test_bench_threads_quick(bench):
    text = bench("bench_threads").main(["--quick"])
    assert "| 1 " in text and "| 2 " in text


def test_profile_epoch_quick(bench):
    text = bench("profile_epoch").main(["--quick", "--threads", "1"])
    assert "## hand-written loop" in text and "## sk_dae fit" in text
    assert "aten::" in text


def test_bench_ops_quick(bench):
    text = bench("bench_ops").main(["--quick", "--threads", "1"])
    assert "Adam fused, 2 groups" in text and "forward + backward" in text


def test_bench_outliers_quick(bench, tmp_path):
    output = tmp_path / "outliers.md"
    text = bench("bench_outliers").main(
        ["--quick", "--threads", "1", "--no-pyod", "--output", str(output)]
    )
    assert output.read_text().strip() == text.strip()
    for heading in ("## ROC AUC", "## Average precision", "## Fit seconds"):
        assert heading in text
    assert "| DAEOutlierDetector" in text or "DAEOutlierDetector |" in text


def test_bench_defaults_quick(bench, tmp_path):
    output = tmp_path / "defaults.md"
    text = bench("bench_defaults").main(
        ["--quick", "--threads", "1", "--tasks", "clean", "noisy", "--output", str(output)]
    )
    assert output.read_text().strip() == text.strip()
    for row in ("| digits | clean", "| wine ", "| digits | noisy fit"):
        assert row in text
    assert "nan" not in text


def test_bench_default_choices_quick(bench):
    results = bench("bench_default_choices").main(["--quick", "--threads", "1"])
    assert [r["name"] for r in results] == ["h128-cos", "h128-cos-lr3-bias"]
    assert all(r["curve"][-1][1] > 0 for r in results)


def test_bench_policy_quick(bench, tmp_path):
    output = tmp_path / "policy.md"
    text = bench("bench_policy").main(["--quick", "--sections", "wide", "--output", str(output)])
    assert output.read_text().strip() == text.strip()
    assert "Wide network" in text and "FLOP" in text
    assert "nan" not in text


def test_bench_layerwise_quick(bench, tmp_path):
    output = tmp_path / "layerwise.md"
    text = bench("bench_layerwise").main(["--quick", "--threads", "1", "--output", str(output)])
    assert output.read_text().strip() == text.strip()
    assert "| end to end, 2 epochs" in text and "| layer-wise 1 epochs per layer" in text
    assert "nan" not in text


def test_bench_cluster_pretraining_quick(bench):
    text = bench("bench_cluster_pretraining").main(
        ["--quick", "--threads", "1", "plain", "noise 0.1:noise_level=0.1"]
    )
    assert "| plain " in text and "| noise 0.1 " in text and "nan" not in text


def test_bench_cluster_start_quick(bench):
    text = bench("bench_cluster_start").main(["--quick", "--threads", "1"])
    for name in ("KMeans on the codes, start", "KMeans on the unit-length codes, IDEC"):
        assert f"| {name} " in text


def test_bench_cluster_small_quick(bench, tmp_path):
    output = tmp_path / "small.md"
    text = bench("bench_cluster_small").main(["--quick", "--threads", "1", "--output", str(output)])
    assert output.read_text().strip() == text.strip()
    assert "| iris | as it comes " in text and "| iris | standardized " in text
    assert "nan" not in text and "diverged" not in text
