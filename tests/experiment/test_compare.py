"""Tests of the comparison behind ``sk-dae compare`` and of its command line."""

import json
import math

import numpy as np
import pytest

from sk_dae._experiment import compare as _compare
from sk_dae._experiment import report as _report
from sk_dae._experiment.cli import build_parser, main, settings_from_args
from sk_dae._experiment.presets import PRESETS
from sk_dae.datasets import load_digits

FAST = ["--epochs", "3", "--n-init", "1", "--quiet", "--hidden", "32", "--embeddings", "normalize"]


@pytest.fixture(scope="module")
def digits_result(digits_split):
    data = digits_split
    params = dict(
        hidden_layer_sizes=(32,),
        max_iter=30,
        batch_size=64,
        learning_rate_init=3e-3,
        noise="gaussian",
        noise_level=0.3,
        n_threads=1,
    )
    return _compare.compare(
        data,
        widths=(2, 8),
        dae_params=params,
        n_init=2,
        embeddings=("normalize",),
        validation_fraction=0.0,
        progress=False,
    )


def test_rows_cover_input_pca_and_dae_per_width(digits_result):
    rows = digits_result.rows
    assert [(r["method"], r["width"]) for r in rows] == [
        ("input", 64),
        ("PCA", 2),
        ("DAE", 2),
        ("DAE + Normalizer", 2),
        ("PCA", 8),
        ("DAE", 8),
        ("DAE + Normalizer", 8),
    ]
    for row in rows:
        assert set(_compare.COLUMNS) <= set(row)
        assert 0 <= row["kmeans_acc"] <= 1
        assert row["cluster_s"] > 0
        if row["method"] in ("PCA", "DAE"):
            assert 0 <= row["probe_acc"] <= 1
        else:
            assert math.isnan(row["probe_acc"])
    # More components reconstruct better, for both methods.
    by = {(r["method"], r["width"]): r for r in rows}
    assert by["PCA", 8]["mse_clean"] < by["PCA", 2]["mse_clean"]
    assert by["DAE", 8]["mse_clean"] < by["DAE", 2]["mse_clean"]
    # Reconstructing a noisy image from 8 codes beats leaving it noisy.
    for kind in _compare.EVAL_NOISE:
        assert by["DAE", 8][f"psnr_{kind}"] > by["input", 64][f"psnr_{kind}"]
        assert by["PCA", 8][f"psnr_{kind}"] > by["input", 64][f"psnr_{kind}"]


def test_scores_match_a_direct_computation(digits_result):
    data, pca = digits_result.data, digits_result.pcas[8]
    row = next(r for r in digits_result.rows if r["method"] == "PCA" and r["width"] == 8)
    expected = np.mean((pca.inverse_transform(pca.transform(data.X_test)) - data.X_test) ** 2)
    assert row["mse_clean"] == pytest.approx(expected, rel=1e-5)
    noisy = digits_result.noisy["gaussian"]
    assert noisy.min() >= 0 and noisy.max() <= 1  # clipped
    dae = digits_result.daes[8]
    from sk_dae.metrics import psnr

    dae_row = next(r for r in digits_result.rows if r["method"] == "DAE" and r["width"] == 8)
    assert dae_row["psnr_gaussian"] == pytest.approx(psnr(data.X_test, dae.reconstruct(noisy)))


def test_write_results(digits_result, tmp_path):
    written = _report.write_results(digits_result, tmp_path)
    names = {p.name for p in written}
    assert {
        "results.csv",
        "results.json",
        "results.md",
        "mse_vs_width.png",
        "loss_curves.png",
        "codes_2d.png",
        "confusion_matrix.png",
        "denoising_gaussian.png",
    } <= names
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["settings"]["widths"] == [2, 8]
    assert payload["settings"]["embeddings"] == ["normalize"]
    assert len(payload["rows"]) == 7
    assert (tmp_path / "results.md").read_text().startswith("| method | width |")
    for path in written:
        assert path.stat().st_size > 0


def test_markdown_table_leaves_missing_metrics_empty():
    row = {key: math.nan for key in _compare.COLUMNS}
    row.update(method="DAE + extra", width=10, kmeans_nmi=0.5)
    line = _report.markdown_table([row]).splitlines()[-1]
    assert line.startswith("| DAE + extra | 10 |  |")
    assert "0.500" in line


def test_clustering_rows_score_the_stored_labels(digits_result):
    from sklearn.metrics import normalized_mutual_info_score
    from sklearn.preprocessing import normalize

    y = digits_result.y_cluster
    assert y is digits_result.data.y_test  # fit_on="train" clusters the test split
    for row in digits_result.rows:
        labels = digits_result.cluster_labels[row["method"], row["width"]]
        assert row["kmeans_nmi"] == pytest.approx(normalized_mutual_info_score(y, labels))
    # The Normalizer row is KMeans on unit-norm DAE codes, seeded like the others.
    from sklearn.cluster import KMeans

    codes = normalize(digits_result.daes[8].transform(digits_result.data.X_test))
    expected = KMeans(10, n_init=2, random_state=0).fit_predict(codes)
    np.testing.assert_array_equal(digits_result.cluster_labels["DAE + Normalizer", 8], expected)


def test_fit_on_all_fits_and_clusters_both_splits(digits_split):
    data = digits_split
    result = _compare.compare(
        data,
        widths=(4,),
        dae_params=dict(hidden_layer_sizes=(16,), max_iter=2, n_threads=1),
        n_init=1,
        embeddings=(),
        fit_on="all",
        progress=False,
    )
    n_all = len(data.X_train) + len(data.X_test)
    assert result.settings["n_cluster"] == n_all
    assert len(result.y_cluster) == n_all
    assert all(len(labels) == n_all for labels in result.cluster_labels.values())
    assert [r["method"] for r in result.rows] == ["input", "PCA", "DAE"]
    assert result.pcas[4].n_samples_ == n_all
    # The probe still trains on training codes and scores the test split.
    assert 0 < result.rows[1]["probe_acc"] <= 1
    with pytest.raises(ValueError, match="fit_on"):
        _compare.compare(data, widths=(2,), fit_on="test", progress=False)
    with pytest.raises(ValueError, match="embedding"):
        _compare.compare(data, widths=(2,), embeddings=("tsne",), progress=False)


def test_unlabelled_data_skip_clustering():
    data = load_digits()  # a copy of its own: the labels are removed
    data.y_train = data.y_test = None
    result = _compare.compare(
        data, widths=(2,), dae_params=dict(hidden_layer_sizes=(), max_iter=2), progress=False
    )
    assert all(math.isnan(r["kmeans_nmi"]) for r in result.rows)
    assert not result.cluster_labels


def test_bad_widths_and_noise(digits_split):
    data = digits_split
    with pytest.raises(ValueError, match="widths"):
        _compare.compare(data, widths=(100,), progress=False)
    with pytest.raises(ValueError, match="noise"):
        _compare.compare(data, widths=(2,), eval_noise={"blur": 1.0}, progress=False)


def test_cli_settings_presets_and_overrides():
    parser = build_parser()
    dataset, options = settings_from_args(parser.parse_args(["compare"]))
    settings = _compare.Settings.from_preset(**options)
    assert dataset == "digits" and settings.widths == (2, 10, 32)
    assert settings.model_params()["early_stopping"]
    args = parser.parse_args(
        [
            "compare",
            "--preset",
            "mnist",
            "--widths",
            "4",
            "--hidden",
            "64",
            "32",
            "--epochs",
            "7",
            "--validation-fraction",
            "0",
        ]
    )
    dataset, options = settings_from_args(args)
    settings = _compare.Settings.from_preset(**options)
    assert dataset == "mnist" and settings.widths == (4,)
    params = settings.model_params()
    assert params["hidden_layer_sizes"] == (64, 32) and params["max_iter"] == 7
    assert "early_stopping" not in params


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_cli_trains_what_compare_trains_for_the_same_preset(preset):
    _, options = settings_from_args(build_parser().parse_args(["compare", "--preset", preset]))
    assert _compare.Settings.from_preset(**options) == _compare.Settings.from_preset(preset)


def test_cli_clustering_preset_and_options():
    from sk_dae.clustering import CLUSTERING_DAE_PARAMS

    parser = build_parser()
    args = parser.parse_args(["compare", "--preset", "mnist-cluster"])
    dataset, options = settings_from_args(args)
    settings = _compare.Settings.from_preset(**options)
    assert dataset == "mnist" and settings.widths == (10,)
    assert settings.fit_on == "all"
    assert settings.model_params() == CLUSTERING_DAE_PARAMS  # no validation split
    args = parser.parse_args(
        ["compare", "--fit-on", "train", "--embeddings", "--umap-neighbors", "5"]
    )
    settings = _compare.Settings.from_preset(**settings_from_args(args)[1])
    assert settings.fit_on == "train" and settings.embeddings == ()
    assert settings.umap_params == {"n_neighbors": 5}
    with pytest.raises(SystemExit):
        parser.parse_args(["compare", "--embeddings", "tsne"])


def test_cli_end_to_end_on_an_npz(digits_split, tmp_path, capsys):
    data = digits_split
    file = tmp_path / "toy.npz"
    np.savez(
        file,
        X_train=data.X_train[:300],
        X_test=data.X_test[:100],
        y_train=data.y_train[:300],
        y_test=data.y_test[:100],
    )
    out = tmp_path / "out"
    assert (
        main(["compare", "--dataset", str(file), "--widths", "2", *FAST, "--output", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "| DAE | 2 |" in printed and "| PCA | 2 |" in printed
    assert (out / "results.csv").is_file() and (out / "codes_2d.png").is_file()


def test_cli_errors_exit_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", "--dataset", str(tmp_path / "missing.npz"), "--quiet"])
    assert info.value.code == 2
    assert "missing.npz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", "--eval-noise", "blur=2"])
