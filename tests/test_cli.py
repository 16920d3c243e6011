"""The command line as a person meets it: --version, --help, and a log file."""

import subprocess
import sys

import pytest

from sk_dae import __version__
from sk_dae.__main__ import main

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
