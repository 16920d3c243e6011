"""The README's short example runs as a new user would run it: clean, with no warning."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _first_python_block():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
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
