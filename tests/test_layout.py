"""The shape of the package: one idea a module, short functions, imports in one direction.

These are the rules of the style notes that a reader relies on to find things; each test
fails with the name of what breaks them.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sk_dae"

#: What each module of sk_dae may import from sk_dae. The torch side (network, noise,
#: data path, training loop) sits at the bottom and never reaches up.
MAY_IMPORT = {
    "_version": set(),
    "_network": set(),
    "_noise": set(),
    "_threads": set(),
    "_data": set(),
    "_jsoncodec": set(),
    "_presets": set(),
    "_training": {"_data", "_network"},
    "_persistence": {"_jsoncodec", "_network", "_training", "_version"},
    "_estimator": {"_data", "_network", "_noise", "_persistence", "_threads", "_training"},
    "metrics": {"_data", "_noise"},
    "plotting": {"metrics"},
    "datasets": set(),
    "clustering": {"_deep_clustering", "_estimator", "_presets"},
    "_dec": {"_data", "_training"},
    "_deep_clustering": {
        "_data",
        "_dec",
        "_estimator",
        "_persistence",
        "_presets",
        "_threads",
        "clustering",
    },
    "_outliers": {"_data", "_estimator"},
    "_imputer": {"_estimator"},
    "_compare": {
        "_data",
        "_estimator",
        "_noise",
        "_presets",
        "_threads",
        "clustering",
        "metrics",
    },
    "_report": {"_compare", "plotting"},
    "_cluster_report": {"_deep_clustering", "_estimator", "_report", "clustering", "metrics"},
    "__main__": {
        "_cluster_report",
        "_compare",
        "_noise",
        "_presets",
        "_report",
        "_version",
        "datasets",
    },
    "__init__": {
        "_deep_clustering",
        "_estimator",
        "_imputer",
        "_network",
        "_outliers",
        "_persistence",
        "_version",
    },
}

#: Modules that know nothing of scikit-learn.
TORCH_SIDE = ("_network", "_noise", "_data", "_training", "_threads", "_jsoncodec", "_dec")

MAX_FUNCTION_LINES = 60

MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))


def _tree(name):
    return ast.parse((PACKAGE / f"{name}.py").read_text())


def _imports(tree):
    """Top-level packages and sk_dae modules imported anywhere in ``tree``."""
    outside, inside = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            outside.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.module:
                    inside.add(node.module.split(".")[0])
                else:
                    inside.update(alias.name for alias in node.names)
            else:
                outside.add(node.module.split(".")[0])
    return outside, inside


def test_every_module_has_a_place_in_the_map():
    assert set(MODULES) == set(MAY_IMPORT)


@pytest.mark.parametrize("name", MODULES)
def test_imports_go_one_way(name):
    _, inside = _imports(_tree(name))
    assert inside <= MAY_IMPORT[name], f"sk_dae.{name} imports {sorted(inside - MAY_IMPORT[name])}"


@pytest.mark.parametrize("name", TORCH_SIDE)
def test_the_torch_side_knows_nothing_of_sklearn(name):
    outside, _ = _imports(_tree(name))
    assert "sklearn" not in outside


def _code_lines(function):
    """Lines of ``function`` other than its docstring and blank lines."""
    body = function.body
    skip = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    return [n for n in range(function.lineno, function.end_lineno + 1) if n not in skip]


def _stores_parameters_only(function):
    """An estimator's ``__init__``: nothing but ``self.name = name`` per parameter, as
    scikit-learn requires; its length is the number of parameters, not logic."""
    return function.name == "__init__" and all(
        isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Name)
        and isinstance(statement.targets[0], ast.Attribute)
        and statement.targets[0].attr == statement.value.id
        for statement in function.body
    )


@pytest.mark.parametrize("name", MODULES)
def test_functions_fit_on_a_screen(name):
    source = (PACKAGE / f"{name}.py").read_text().splitlines()
    long = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _stores_parameters_only(node):
                continue
            n_lines = sum(1 for n in _code_lines(node) if source[n - 1].strip())
            if n_lines > MAX_FUNCTION_LINES:
                long.append(f"{node.name} ({n_lines} lines)")
    assert not long, f"sk_dae.{name}: functions longer than {MAX_FUNCTION_LINES} lines: {long}"
