"""The command line as a person meets it: --version, --help, and a log file."""

import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import sk_dae._experiment.cluster_report
from sk_dae import __version__
from sk_dae._experiment.cli import main

FAST = ["--widths", "2", "--epochs", "2", "--n-init", "1", "--hidden", "16", "--no-figures"]


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sk-dae {__version__}"


def test_help_shows_defaults_and_no_rest_markup(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text and ":mod:" not in text
    assert "(default: digits)" in text  # --preset
    assert "(default: 10)" in text  # --n-init
    assert "(default: results/compare)" in text  # --output
    assert "mnist-cluster" in text


def test_a_log_file_gets_one_plain_line_per_model(tmp_path):
    log = tmp_path / "log.txt"
    with open(log, "w") as out:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sk_dae",
                "compare",
                *FAST,
                "--embeddings",
                "normalize",
                "--output",
                str(tmp_path / "out"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=300,
        )
    text = log.read_text()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    methods = [line.split(",")[0] for line in lines[:4]]
    assert methods == ["input", "PCA", "DAE", "DAE + Normalizer"]
    assert lines[2].startswith("DAE, width 2: fit ") and "clean MSE" in lines[2]
    assert any(line.startswith("| DAE | 2 |") for line in lines)


# ----------------------------------------------------------------- sk-dae cluster

CLUSTER_FAST = [
    "cluster",
    "--max-samples",
    "200",
    "--epochs",
    "2",
    "--max-iter",
    "1",
    "--hidden",
    "16",
    "--n-init",
    "1",
    "--threads",
    "1",
]


def test_cluster_writes_a_table_with_every_row(tmp_path, monkeypatch, capsys):
    # UMAP's first call compiles for a minute: the row that says it is missing is tested.
    monkeypatch.setattr(sk_dae._experiment.cluster_report, "umap_available", lambda: False)
    assert main([*CLUSTER_FAST, "--seeds", "0", "1", "--output", str(tmp_path)]) == 0
    text = (tmp_path / "results.md").read_text()
    assert text in capsys.readouterr().out
    assert "# Deep clustering of 200 digits rows (160 train + 40 test), 10 clusters" in text
    assert (
        "| method | NMI | ARI | accuracy | test NMI | test ARI | test accuracy | fit (s) |" in text
    )
    rows = [line.split(" | ")[0].lstrip("| ") for line in text.splitlines()[-8:]]
    assert rows == [
        "KMeans on pixels",
        "KMeans on PCA-10",
        "pretrained codes, KMeans",
        "IDEC",
        "DEC",
        "codes, UMAP, KMeans (N2D start)",
        "IDEC from the UMAP start",
        "codes, UMAP, Gaussian mixture (N2D)",
    ]
    assert "| IDEC from the UMAP start | umap-learn not installed" in text
    assert re.search(r"\| DEC \| 0\.\d{3} \(0\.\d{3}-0\.\d{3}\) \|", text)  # median (range)
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["settings"]["seeds"] == [0, 1] and document["settings"]["n_train"] == 160
    for rows in document["per_seed"].values():
        assert 0 <= rows["IDEC"]["test_accuracy"] <= 1 and rows["IDEC"]["fit_s"] > 0


def test_cluster_options_reach_the_models(tmp_path):
    main(
        [
            *CLUSTER_FAST,
            "--n-clusters",
            "4",
            "--n-components",
            "3",
            "--no-baselines",
            "--no-manifold",
            "--quiet",
            "--output",
            str(tmp_path),
        ]
    )
    document = json.loads((tmp_path / "results.json").read_text())
    settings = document["settings"]
    assert settings["n_clusters"] == 4 and settings["clustering_params"]["max_iter"] == 1
    assert "n_components=3" in settings["autoencoder"] and "(16,)" in settings["autoencoder"]
    assert [row["method"] for row in document["summary"]] == [
        "pretrained codes, KMeans",
        "IDEC",
        "DEC",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n-clusters", "0"], "expected a positive integer"),
        (["--seeds", "x"], "invalid _non_negative_int value"),
        (["--max-iter", "-1"], "expected a non-negative integer"),
        (["--epochs", "0"], "expected a positive integer"),
        (["--no-manifold", "--manifold-only"], "not allowed with argument"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--dataset", "nonsense"], "unknown dataset 'nonsense'"),
        (["--max-samples", "5", "--n-clusters", "6"], "n_samples=5 should be >= n_clusters=6"),
    ],
)
def test_cluster_bad_arguments_exit_with_a_message(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main([*CLUSTER_FAST, "--no-manifold", "--quiet", "--output", str(tmp_path), *args])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cluster_help_has_no_rest_markup(capsys):
    with pytest.raises(SystemExit):
        main(["cluster", "--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text
    assert "--mnist-path" in text and "(default: 10)" in text  # --n-init
    # A help that states its default gets no second "(default: None)".
    flat = " ".join(text.split())
    assert "(default: DeepClustering's)" in flat and "'s) (default: None)" not in flat


def test_cluster_reads_an_npz_file_and_leaves_test_cells_empty_without_a_test_split(
    tmp_path, digits_split
):
    path = tmp_path / "data.npz"
    X, y = digits_split.X_train[:120], digits_split.y_train[:120]
    np.savez(path, X_train=X, y_train=y, X_test=X[:0], y_test=y[:0])
    args = [*CLUSTER_FAST, "--dataset", str(path), "--no-manifold", "--no-baselines", "--quiet"]
    main([*args, "--output", str(tmp_path / "out")])
    text = (tmp_path / "out" / "results.md").read_text()
    assert "# Deep clustering of 120 data rows, 10 clusters, seeds 0" in text
    assert re.search(r"\| IDEC \| 0\.\d{3} \| 0\.\d{3} \| 0\.\d{3} \|  \|  \|  \| \d", text)
    with pytest.raises(SystemExit) as info:
        np.savez(path, X_train=X, X_test=X[:10])
        main([*args, "--output", str(tmp_path / "out")])
    assert info.value.code == 2


def cluster_settings(tmp_path, *options):
    """The settings that a quick ``sk-dae cluster`` with ``options`` records (the
    autoencoder rows only)."""
    main(
        [*CLUSTER_FAST, *options, "--no-baselines", "--no-manifold"]
        + ["--quiet", "--output", str(tmp_path)]
    )
    return json.loads((tmp_path / "results.json").read_text())["settings"]


def test_cluster_pretraining_recipe_reaches_the_autoencoder(tmp_path):
    settings = cluster_settings(tmp_path, "--pretraining", "dec-keras")
    # The recipe's optimizer and start, the command line's epochs.
    for text in ("optimizer='sgd'", "init='fan_in'", "nesterovs_momentum=False", "max_iter=2"):
        assert text in settings["autoencoder"]


def test_cluster_report_shows_the_papers_figures_on_all_of_mnist():
    report = sk_dae._experiment.cluster_report.ClusterReport(
        {"dataset": "mnist", "n_samples": 70000, "n_train": 60000, "n_clusters": 10}
        | {"seeds": [0], "autoencoder": "DAE", "clustering_params": {}, "n_init": 10},
        per_seed={
            0: {
                "IDEC": {key: 0.5 for key in ("nmi", "ari", "accuracy", "fit_s")}
                | {"test_nmi": 0.5, "test_ari": 0.5, "test_accuracy": 0.5}
            }
        },
    )
    text = sk_dae._experiment.cluster_report.markdown(report)
    assert "| accuracy | published accuracy |" in text
    assert "| 0.500 | 0.881 (IDEC paper) |" in text
    report.settings["n_samples"] = 10000  # a subset: no published figure applies
    assert "published" not in sk_dae._experiment.cluster_report.markdown(report)


def test_cluster_augment_reaches_pretraining_and_fine_tuning(tmp_path):
    settings = cluster_settings(tmp_path, "--augment", "shift")
    assert "augment='shift'" in settings["autoencoder"]
    assert settings["clustering_params"]["augment"] == "shift"


def test_cluster_precision_reaches_the_autoencoder(tmp_path):
    with warnings.catch_warnings():
        # Where this CPU emulates bfloat16, the autoencoder's fit warns that it is slow.
        warnings.filterwarnings("ignore", message="precision='bfloat16' on this CPU")
        settings = cluster_settings(tmp_path, "--precision", "bfloat16")
    assert "precision='bfloat16'" in settings["autoencoder"]
