"""The README works as a new user reads it: its example runs clean, with no warning; its
two commands are the Makefile's and CI's; its links resolve; its figure and table sit
beside the commands that wrote them, and the measured tables live in the user guide."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text()


def _first_python_block():
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
    assert blocks, "README.md has no python example"
    return blocks[0]


def test_readme_example_runs_without_a_warning(tmp_path):
    # Warnings are errors in this process and in the joblib workers GridSearchCV starts
    # (they inherit the environment), so that any warning fails the run.
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    run = subprocess.run(
        [sys.executable, "-c", _first_python_block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr, run.stderr
    assert (tmp_path / "model.joblib").is_file() and (tmp_path / "model.safetensors").is_file()
    assert "on PCA codes" in run.stdout, run.stdout


def test_the_two_commands_are_the_makefiles_and_ci_runs_the_test_command():
    commands = re.findall(r"```bash\n(.*?)```", TEXT, flags=re.S)
    assert commands, "README.md has no bash block with its two commands"
    lines = [line.split("#")[0].strip() for line in commands[0].splitlines()]
    assert [line for line in lines if line] == ["make demo", "make test"]
    targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M)
    assert {"demo", "test"} <= set(targets)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make test" in ci, ".ci/run must run the README's test command"


def _links():
    """Relative targets of the README's markdown links and images (no web addresses)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", TEXT)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t)]


def test_links_resolve():
    links = _links()
    assert links, "README.md links nowhere"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_every_results_family_has_a_user_guide_page_linked():
    # The tables that left the README live on these pages (see their commits).
    for page in ("pca", "denoising", "clustering", "outliers", "tabular"):
        assert f"docs/user_guide/{page}.rst" in _links(), f"README.md does not link {page}.rst"
    assert "docs/performance.rst" in _links()


def test_one_figure_and_one_table_each_beside_its_command():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", TEXT)
    assert len(images) == 1, f"README.md shows {len(images)} figures; the rest go to the guide"
    # The command beside them draws the figure and writes the file the table quotes.
    command = (
        "python benchmarks/bench_learning_curve.py --threads 1 "
        "--output benchmarks/results/learning_curve.md --figure " + images[0]
    )
    assert command in TEXT
    assert (ROOT / images[0]).is_file()

    header_rows = re.findall(r"^\|.*\|\n\|[-| ]+\|$", TEXT, flags=re.M)
    assert len(header_rows) == 1, f"README.md holds {len(header_rows)} tables; keep one"
    table = TEXT[TEXT.index(header_rows[0]) :].split("\n\n")[0]
    measured = (ROOT / "benchmarks" / "results" / "learning_curve.md").read_text()
    for row in table.splitlines()[2:]:
        rows, clean, noisy, seconds = (cell.strip() for cell in row.strip("|").split("|"))
        found = {
            kind: re.search(rf"\|\s*{rows}\s*\|\s*{kind}\s*\|.*", measured).group(0)
            for kind in ("clean", "noisy")
        }
        assert f"| {clean} " in found["clean"] and f"| {seconds} " in found["clean"], row
        assert f"| {noisy} " in found["noisy"], row


def test_the_readme_stays_short():
    # What it is, the two commands, an example, one figure, one table, links: a newcomer
    # reads it in two minutes. Measurements belong on the user guide's pages.
    assert len(TEXT) < 8000, f"README.md has grown to {len(TEXT)} characters"
