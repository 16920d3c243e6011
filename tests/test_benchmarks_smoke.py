"""The benchmark scripts keep working, and benchmarks/ stays in order.

A tiny run of every script (not a timing test), what the shared harness writes at the
top of a results file, and that ``benchmarks/README.md`` lists every script and every
results file, with the right word on whether the file has the harness's header.
"""

import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
RESULTS = BENCHMARKS / "results"
README = BENCHMARKS / "README.md"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name):
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return load


@pytest.fixture
def common(bench):
    return bench("_common")


def assert_written(common, output, text):
    """``output`` holds the report ``main`` returned, under a complete header."""
    written = output.read_text()
    assert written.strip() == text.strip()
    header = common.read_header(written)
    assert list(header) == list(common.HEADER_FIELDS)
    assert f"--output {output}" in header["command"]
    return header


# ------------------------------------------------------------------ speed


def test_bench_fit_quick(bench, common, tmp_path):
    output = tmp_path / "fit.md"
    text = bench("bench_fit").main(["--quick", "--threads", "1", "--output", str(output)])
    header = assert_written(common, output, text)
    assert header["threads"].startswith("1 (--threads 1): torch 1")
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


def test_bench_conv_quick(bench, common, tmp_path):
    output = tmp_path / "conv.md"
    text = bench("bench_conv").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    for name in ("torch loop", "torch loop, channels-last weights", "sk_dae fit, occlusion"):
        assert f"| {name} " in text
    assert "nan" not in text


@pytest.mark.parametrize("task", ["clean", "occlusion"])
def test_bench_conv_quality_quick(bench, common, tmp_path, task):
    output = tmp_path / "conv_quality.md"
    text = bench("bench_conv_quality").main(
        ["--quick", "--threads", "1", "--task", task, "--output", str(output)]
    )
    assert_written(common, output, text)
    for name in ("PCA-32", "MLP default", "conv"):
        assert f"| {name} " in text
    assert "held-out MSE by epoch" in text


def test_bench_transform_quick(bench, common, tmp_path):
    memmaps = tmp_path / "memmaps"
    memmaps.mkdir()
    output = tmp_path / "transform.md"
    args = ["--quick", "--threads", "1", "--tmpdir", str(memmaps), "--output", str(output)]
    text = bench("bench_transform").main(args)
    assert_written(common, output, text)
    names = ("PCA.transform", "DenoisingAutoencoder.transform", "float32 memmap", "uint8 memmap")
    for name in names:
        assert f"| {name} " in text
    assert not list(memmaps.iterdir())  # the memmaps are removed


def test_bench_threads_quick(bench, common, tmp_path):
    output = tmp_path / "threads.md"
    text = bench("bench_threads").main(["--quick", "--output", str(output)])
    header = assert_written(common, output, text)
    assert header["threads"].startswith("set by joblib in each worker")
    assert "| 1 " in text and "| 2 " in text


def test_bench_policy_quick(bench, common, tmp_path):
    output = tmp_path / "policy.md"
    text = bench("bench_policy").main(["--quick", "--sections", "wide", "--output", str(output)])
    assert_written(common, output, text)
    assert "Wide network" in text and "FLOP" in text
    assert "nan" not in text


def test_profile_epoch_quick(bench, common, tmp_path):
    output = tmp_path / "profile.txt"
    text = bench("profile_epoch").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    assert "## hand-written loop" in text and "## sk_dae fit" in text
    assert "aten::" in text


def test_bench_ops_quick(bench, common, tmp_path):
    output = tmp_path / "ops.md"
    text = bench("bench_ops").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    assert "Adam fused, 2 groups" in text and "forward + backward" in text


def test_bench_checkpoint_quick(bench, common, tmp_path):
    output = tmp_path / "checkpoint.md"
    text = bench("bench_checkpoint").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    assert "fit, checkpoint every epoch" in text and "Time inside the writes" in text


def test_bench_onnx_quick(bench, common, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    output = tmp_path / "onnx.md"
    text = bench("bench_onnx").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    assert "onnxruntime" in text and "sk_dae transform" in text


# ------------------------------------------------------------------ quality


def test_bench_learning_curve_quick(bench, common, tmp_path):
    output = tmp_path / "learning_curve.md"
    figure = tmp_path / "learning_curve.png"
    text = bench("bench_learning_curve").main(
        ["--quick", "--threads", "1", "--output", str(output), "--figure", str(figure)]
    )
    assert_written(common, output, text)
    for size, kind in (("100", "clean"), ("1,000", "noisy")):
        assert re.search(rf"\|\s*{size}\s*\|\s*{kind}\s*\|", text), (size, kind)
    assert figure.stat().st_size > 0 and "nan" not in text


def test_bench_defaults_quick(bench, common, tmp_path):
    output = tmp_path / "defaults.md"
    text = bench("bench_defaults").main(
        ["--quick", "--threads", "1", "--tasks", "clean", "noisy", "--output", str(output)]
    )
    assert_written(common, output, text)
    for row in ("| digits | clean", "| wine ", "| digits | noisy fit"):
        assert row in text
    assert "nan" not in text


def test_bench_default_choices_quick(bench, common, tmp_path):
    output = tmp_path / "choices.md"
    results = bench("bench_default_choices").main(
        ["--quick", "--threads", "1", "--output", str(output)]
    )
    assert [r["name"] for r in results] == ["h128-cos", "h128-cos-lr3-bias"]
    assert all(r["curve"][-1][1] > 0 for r in results)
    written = output.read_text()
    assert list(common.read_header(written)) == list(common.HEADER_FIELDS)
    assert '"name": "h128-cos-lr3-bias"' in written


def test_bench_layerwise_quick(bench, common, tmp_path):
    output = tmp_path / "layerwise.md"
    text = bench("bench_layerwise").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    assert "| end to end, 2 epochs" in text and "| layer-wise 1 epochs per layer" in text
    assert "nan" not in text


def test_bench_impute_quick(bench, common, tmp_path):
    output = tmp_path / "impute.md"
    text = bench("bench_impute").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    for name in ("mean", "KNN (5)", "Iterative", "DAEImputer"):
        assert f"| {name} " in text


def test_bench_impute_mnar_mask_hides_the_largest_values(bench):
    X = np.random.default_rng(1).normal(size=(500, 20))
    X_missing, hidden = bench("bench_impute").hide(X, 0.2, seed=0, mask="mnar")
    assert np.array_equal(np.isnan(X_missing), hidden)
    assert 0.1 < hidden.mean() < 0.3
    for j in np.flatnonzero(hidden.any(axis=0)):
        assert hidden[:, j].sum() == 200
        assert X[hidden[:, j], j].min() > X[~hidden[:, j], j].max()


def test_bench_impute_mnar_with_a_downstream_model(bench):
    args = ["--quick", "--threads", "1", "--mask", "mnar", "--downstream", "--variants"]
    text = bench("bench_impute").main(args + ["--datasets", "diabetes std"])
    assert "| MNAR 20% " in text and "| complete data " in text
    assert "downstream CV score" in text


def test_bench_outliers_quick(bench, common, tmp_path):
    output = tmp_path / "outliers.md"
    text = bench("bench_outliers").main(
        ["--quick", "--threads", "1", "--no-pyod", "--output", str(output)]
    )
    assert_written(common, output, text)
    for heading in ("## ROC AUC", "## Average precision", "## Fit seconds"):
        assert heading in text
    assert "| DAEOutlierDetector" in text or "DAEOutlierDetector |" in text


def test_bench_deep_clustering_quick(bench, common, tmp_path):
    output = tmp_path / "deep_clustering.md"
    text = bench("bench_deep_clustering").main(
        ["--quick", "--threads", "1", "--output", str(output)]
    )
    assert_written(common, output, text)
    for row in ("KMeans on pixels", "pretrained codes", "DEC", "IDEC"):
        assert f"| {row}" in text


def test_bench_cluster_pretraining_quick(bench, common, tmp_path):
    output = tmp_path / "pretraining.md"
    text = bench("bench_cluster_pretraining").main(
        ["--quick", "--threads", "1", "--output", str(output), "plain", "noise 0.1:noise_level=0.1"]
    )
    assert_written(common, output, text)
    assert "| plain " in text and "| noise 0.1 " in text and "nan" not in text


def test_bench_cluster_budget_quick(bench, common, tmp_path):
    output = tmp_path / "budget.md"
    text = bench("bench_cluster_budget").main(
        [
            "--quick",
            "--threads",
            "1",
            "--output",
            str(output),
            "faithful:recipe=dec-keras",
            "default",
        ]
    )
    assert_written(common, output, text)
    # A constant-rate recipe is scored on the way, a cosine one refitted per budget.
    assert text.count("| faithful ") == 2 and text.count("| default ") == 2
    assert "nan" not in text


def test_bench_cluster_start_quick(bench, common, tmp_path):
    output = tmp_path / "start.md"
    text = bench("bench_cluster_start").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    for name in ("KMeans on the codes, start", "KMeans on the unit-length codes, IDEC"):
        assert f"| {name} " in text


def test_bench_cluster_small_quick(bench, common, tmp_path):
    output = tmp_path / "small.md"
    text = bench("bench_cluster_small").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    assert "| iris | as it comes " in text and "| iris | standardized " in text
    assert "nan" not in text and "diverged" not in text


def test_bench_cluster_pipeline_quick(bench, common, tmp_path):
    output = tmp_path / "pipeline.md"
    args = ["--quick", "--threads", "1", "--embeddings", "normalize", "--output", str(output)]
    text = bench("bench_cluster_pipeline").main(args)
    assert_written(common, output, text)
    assert "| digits | 300  | 2      | 2      | " in text
    assert "normalize accuracy" in text and "umap" not in text and "nan" not in text


def test_bench_fine_tuning_quick(bench, common, tmp_path):
    output = tmp_path / "fine_tuning.md"
    text = bench("bench_fine_tuning").main(["--quick", "--threads", "1", "--output", str(output)])
    assert_written(common, output, text)
    assert "| start " in text and "| ours " in text and "nan" not in text


def test_bench_cluster_peers_quick_and_reuse(bench, common, tmp_path):
    module = bench("bench_cluster_peers")
    first = tmp_path / "peers.md"
    args = ["--quick", "--threads", "1", "--only", "kmeans", "ours", "--output", str(first)]
    text = module.main(args)
    assert_written(common, first, text)
    assert "| digits (300) | 0 " in text and "nan" not in text
    records = module.read_records(first)
    assert [r["method"] for r in records] == ["kmeans", "ours"]
    assert records[1]["changed_globals"] == []  # ours leaves the global generators alone
    # --reuse keeps the records it does not refit: ours, read back, beside a new KMeans
    second = tmp_path / "again.md"
    module.main(["--quick", "--only", "kmeans", "--reuse", str(first), "--output", str(second)])
    again = module.read_records(second)
    assert again[1] == records[1] and again[0]["run_date"] >= records[0]["run_date"]


def test_bench_cluster_peers_with_clustpy(bench, tmp_path):
    """ClustPy is an optional benchmark dependency: where it is installed, its two
    fits run (2 epochs each under --quick) and show that they reseed the globals."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("clustpy.deep")
    text = bench("bench_cluster_peers").main(["--quick", "--only", "idec", "dec"])
    assert "| ClustPy IDEC | 1    | 1     | 1      | 1     |" in text


# ------------------------------------------------------------------ the harness


def test_the_header_records_the_run(common, monkeypatch, tmp_path):
    monkeypatch.chdir(common.REPO)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    run = common.Run(BENCHMARKS / "bench_ops.py", ["--datasets", "digits /16"], threads=None)
    header = common.read_header(run.finish("# body", tmp_path / "out.md"))
    assert list(header) == list(common.HEADER_FIELDS)
    command = header["command"]
    assert command.startswith("`OMP_NUM_THREADS=1 ") and command.endswith("'digits /16'`")
    assert " benchmarks/bench_ops.py --datasets " in command
    assert re.fullmatch(r"[0-9a-f]{7,}(\+dirty)?|unknown", header["commit"].split(" ")[0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC, \d+ s", header["date"])
    assert "logical CPUs" in header["machine"]
    assert header["threads"].startswith("--threads not given")
    loads = re.fullmatch(r"([\d. ]+) at the start, ([\d. ]+) at the end .*", header["load average"])
    assert loads and all(len(group.split()) == 3 for group in loads.groups())
    assert (tmp_path / "out.md").read_text().endswith("\n\n# body\n")


def test_read_header_needs_the_command_first(common):
    assert common.read_header("# fit\n\n- commit: abc1234\n") == {}
    assert common.read_header("torch 2.13.0+cpu, 1 threads, load average 5.29 at start") == {}


def _git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_the_commit_is_dirty_for_code_changes_not_for_results(common, tmp_path):
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    code, result = tmp_path / "code.py", tmp_path / "benchmarks" / "results" / "r.md"
    code.write_text("x = 1\n")
    result.write_text("old\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "code.py", "benchmarks/results/r.md")
    _git(tmp_path, "commit", "-q", "-m", "first")
    commit = common.git_commit(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{7,}", commit)
    result.write_text("new\n")
    (tmp_path / "untracked.txt").write_text("")
    assert common.git_commit(tmp_path) == commit
    code.write_text("x = 2\n")
    assert common.git_commit(tmp_path) == commit + "+dirty"
    assert common.git_commit(tmp_path.parent / "not-a-checkout-xyz") is None


# ------------------------------------------------------------------ README and results

PREDATES = " *(predates the header)*"


def _section(text, title):
    """The text of ``## title`` up to the next ``##`` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"benchmarks/README.md has no section '## {title}'"
    return match.group(1)


def _listed_results():
    """name -> whether README marks it as predating the header."""
    section = _section(README.read_text(), "Results files and the commands that wrote them")
    section = section.split("### Removed, in git history")[0]
    found = re.findall(r"^- `([^`]+)`( \*\(predates the header\)\*)?", section, re.M)
    return {name: bool(marker) for name, marker in found}


def test_every_script_is_in_the_readme_as_speed_or_quality():
    readme = README.read_text()
    tables = {kind: _section(readme, kind) for kind in ("Speed", "Quality")}
    for script in SCRIPTS:
        kinds = [kind for kind, text in tables.items() if f"| `{script}` |" in text]
        assert len(kinds) == 1, f"{script}: in the README's tables {kinds}, not in one"


def test_every_results_file_is_in_the_readme():
    listed = _listed_results()
    files = sorted(p.name for p in RESULTS.iterdir())
    assert sorted(listed) == files


@pytest.mark.parametrize("name", sorted(p.name for p in RESULTS.iterdir()))
def test_results_files_have_the_header_unless_the_readme_says_they_predate_it(common, name):
    text = (RESULTS / name).read_text()
    header = common.read_header(text)
    if _listed_results().get(name, False):
        assert not header, f"{name} has the harness header: drop '{PREDATES}' in the README"
        return
    assert list(header) == list(common.HEADER_FIELDS), f"{name}: no complete header"
    assert re.fullmatch(r"`.*benchmarks/\S+\.py .*`", header["command"])
    assert f"benchmarks/results/{name}" in header["command"]
    assert re.match(r"[0-9a-f]{7,}(\+dirty)?", header["commit"])
