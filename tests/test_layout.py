"""The shape of the package: folders that show the layers, imports in one direction.

``LAYOUT`` below is the module map of sk_dae: what each module is for and what it may
import from sk_dae. The tests enforce it (each fails with the name of what breaks it),
and the module map of ``docs/design.rst`` is generated from it, so the two cannot drift:
after changing ``LAYOUT``, run ``python tests/test_layout.py`` to rewrite
``docs/includes/module_map.rst``.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sk_dae"
MODULE_MAP = ROOT / "docs" / "includes" / "module_map.rst"

#: Folders of sk_dae, their one idea, and the folders (``"."``: the package's top level)
#: whose modules theirs may import.
FOLDERS = {
    "_core": (
        "the torch core: networks, corruption, the data path, training loops, DEC, threads; "
        "tensors in, tensors out, no scikit-learn",
        {"_core"},
    ),
    ".": (
        "the estimators (scikit-learn glue over the core), persistence, metrics, data sets, plots",
        {"_core", ".", "clustering"},
    ),
    "clustering": (
        "the clusterer, the pipeline helper and the embedding step below both",
        {"_core", ".", "clustering"},
    ),
    "image": (
        "the denoiser of whole images of any size",
        {"_core", ".", "image"},
    ),
    "_experiment": (
        "the ``sk-dae`` command line and its experiments; it uses the library as a user "
        "would, and nothing in the library imports it",
        {"_core", ".", "clustering", "_experiment"},
    ),
}

#: Every module of sk_dae (dotted, below sk_dae; a package by its folder's name), its one
#: idea, and the modules of sk_dae it may import.
LAYOUT = {
    "__init__": (
        "the public names",
        {"_autoencoder", "_core.network", "_imputer", "_outliers", "_persistence", "_version"}
        | {"_core.checkpoint", "clustering"},
    ),
    "__main__": ("``python -m sk_dae``", {"_experiment.cli"}),
    "_version": ("the version", set()),
    "_core": ("the core's docstring", set()),
    "_core.network": ("the encoder/decoder ``nn.Module``, weights from a seed", set()),
    "_core.conv": (
        "the convolutional ``nn.Module`` of image rows; either network from its spec",
        {"_core.network"},
    ),
    "_core.noise": (
        "corruption of a batch (Gaussian, masking, salt-and-pepper, swap, occlusion)",
        set(),
    ),
    "_core.augment": ("random shifts, rotations and scalings of image batches", set()),
    "_core.data": (
        "tensors, the validation split, batches, batched inference, seeded corruption",
        set(),
    ),
    "_core.seeds": ("independent seeds from a ``random_state``, never the global RNG", set()),
    "_core.threads": ("who owns torch's CPU threads during a call", set()),
    "_core.jsoncodec": (
        "JSON for the safe file's header (tuples, arrays, ...)",
        {"_core.checkpoint"},
    ),
    "_core.checkpoint": (
        "checkpoints of a fit: when to write, atomic writes, weights-only reads",
        set(),
    ),
    "_core.block_matching": ("BM3D, written from the paper in torch", set()),
    "_core.image_net": (
        "the fully convolutional residual denoiser, its crops, self-supervision, training",
        {"_core.training"},
    ),
    "_core.training": (
        "the autoencoder's epoch loop, stopping rule, progress bar",
        {"_core.data", "_core.network"},
    ),
    "_core.dec": (
        "DEC/IDEC: soft assignment, target distribution, fine-tuning loop",
        {"_core.data", "_core.training"},
    ),
    "_validation": ("checks of user input shared by the estimators", {"_core.training"}),
    "_persistence": (
        "pickle state, the safe file, version checks",
        {"_core.conv", "_core.jsoncodec", "_core.training", "_version"},
    ),
    "_autoencoder": (
        "``DenoisingAutoencoder``: parameters, validation, fitted attributes",
        {
            "_core.checkpoint",
            "_core.augment",
            "_core.conv",
            "_core.data",
            "_core.network",
            "_core.noise",
            "_core.seeds",
            "_core.threads",
            "_core.training",
            "_persistence",
            "_validation",
        },
    ),
    "_wrapper": (
        "``AutoencoderWrapper``: the base of the estimators that train an autoencoder",
        {"_autoencoder", "_core.threads", "_persistence", "_validation"},
    ),
    "_outliers": ("``DAEOutlierDetector``", {"_core.data", "_core.threads", "_wrapper"}),
    "_imputer": ("``DAEImputer``", {"_wrapper"}),
    "onnx": (
        "skl2onnx converters: the network's graph from torch's exporter",
        {"_autoencoder", "_core.network", "_imputer", "_outliers"},
    ),
    "metrics": ("scores (PSNR, clustering accuracy, denoising)", {"_core.data", "_core.noise"}),
    "plotting": ("figures", {"metrics"}),
    "datasets": ("MNIST and digits loaders", set()),
    "clustering": (
        "the public names of clustering",
        {"clustering._deep_clustering", "clustering._embedding", "clustering._pipeline"},
    ),
    "clustering._embedding": (
        "the step between codes and KMeans (normalize, UMAP)",
        {"_core.threads"},
    ),
    "clustering._pipeline": (
        "``make_clustering_pipeline``: autoencoder, embedding, KMeans",
        {"_autoencoder", "_core.data", "clustering._embedding"},
    ),
    "clustering._deep_clustering": (
        "``DeepClustering`` (DEC, IDEC)",
        {
            "_autoencoder",
            "_core.augment",
            "_core.checkpoint",
            "_core.conv",
            "_core.data",
            "_core.dec",
            "_core.seeds",
            "_core.threads",
            "_core.training",
            "_validation",
            "_wrapper",
            "clustering._embedding",
            "clustering._pipeline",
        },
    ),
    "image": ("the public names of image", {"image._classical", "image._denoiser"}),
    "image._classical": (
        "the noise estimate, the guides (scikit-image's NL-means, BM3D), ``denoise_bm3d``",
        {"_core.block_matching"},
    ),
    "image._denoiser": (
        "``ImageDenoiser``: parameters, image checks, fitted attributes",
        {
            "_core.image_net",
            "_core.seeds",
            "_core.threads",
            "_core.training",
            "_validation",
            "image._classical",
        },
    ),
    "_experiment": ("the experiment's docstring", set()),
    "_experiment.presets": ("training budgets of ``sk-dae compare``", {"clustering._pipeline"}),
    "_experiment.compare": (
        "what ``sk-dae compare`` fits and scores",
        {
            "_autoencoder",
            "_core.data",
            "_core.noise",
            "_core.threads",
            "_experiment.presets",
            "clustering",
            "clustering._embedding",
            "metrics",
        },
    ),
    "_experiment.report": ("its tables and figures", {"_experiment.compare", "plotting"}),
    "_experiment.cluster_report": (
        "``sk-dae cluster``: the deep clustering report",
        {
            "_autoencoder",
            "_experiment.compare",
            "_experiment.report",
            "clustering",
            "clustering._deep_clustering",
            "metrics",
        },
    ),
    "_experiment.cli": (
        "the command line",
        {
            "_core.noise",
            "_core.training",
            "clustering",
            "_experiment.cluster_report",
            "_experiment.compare",
            "_experiment.presets",
            "_experiment.report",
            "_version",
            "datasets",
        },
    ),
}

MAX_FUNCTION_LINES = 60


def _module_name(path):
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


FILES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
MODULES = sorted(FILES)


def _folder(name):
    return name.split(".")[0] if "." in name or (PACKAGE / name).is_dir() else "."


def _tree(name):
    return ast.parse(FILES[name].read_text())


def _package_of(name):
    """The dotted package that holds module ``name`` ("" for the top level)."""
    if FILES[name].name == "__init__.py":
        return name if name != "__init__" else ""
    return name.rpartition(".")[0]


def _imports(name):
    """Top-level packages and sk_dae modules that module ``name`` imports anywhere."""
    outside, inside = set(), set()
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                (inside.add(rest) if top == "sk_dae" and rest else outside.add(top))
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = _package_of(name).split(".") if _package_of(name) else []
            base = base[: len(base) - (node.level - 1)]
            if node.module:
                base = base + node.module.split(".")
            candidates = [".".join(base + [alias.name]) for alias in node.names]
            found = [c for c in candidates if c in FILES]
            inside.update(found or [".".join(base) or "__init__"])
        elif isinstance(node, ast.ImportFrom):
            top, _, rest = node.module.partition(".")
            (inside.add(rest) if top == "sk_dae" and rest else outside.add(top))
    return outside, inside - {name}


def test_every_module_has_a_place_in_the_map():
    assert set(MODULES) == set(LAYOUT)


@pytest.mark.parametrize("name", MODULES)
def test_imports_go_one_way(name):
    _, inside = _imports(name)
    allowed = LAYOUT[name][1]
    assert inside <= allowed, f"sk_dae.{name} imports {sorted(inside - allowed)}"


@pytest.mark.parametrize("name", [m for m in MODULES if m not in ("__init__", "__main__")])
def test_each_folder_imports_only_the_folders_below_it(name):
    _, inside = _imports(name)
    reachable = FOLDERS[_folder(name)][1]
    far = sorted(m for m in inside if _folder(m) not in reachable)
    assert not far, f"sk_dae.{name} ({_folder(name)}) reaches into {far}"


def test_no_import_cycle():
    graph = {name: _imports(name)[1] for name in MODULES}
    done, path = set(), []

    def visit(name):
        if name in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(name) :] + [name]))
        if name in done:
            return
        path.append(name)
        for other in sorted(graph[name]):
            visit(other)
        path.pop()
        done.add(name)

    for name in MODULES:
        visit(name)


@pytest.mark.parametrize("name", [m for m in MODULES if _folder(m) == "_core"])
def test_the_core_knows_nothing_of_sklearn(name):
    outside, _ = _imports(name)
    assert "sklearn" not in outside


def test_the_library_never_imports_the_experiment():
    users = sorted(
        name
        for name in MODULES
        if _folder(name) != "_experiment"
        and name != "__main__"
        and any(_folder(m) == "_experiment" for m in _imports(name)[1])
    )
    assert not users, f"{users} import sk_dae._experiment"


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
    source = FILES[name].read_text().splitlines()
    long = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _stores_parameters_only(node):
                continue
            n_lines = sum(1 for n in _code_lines(node) if source[n - 1].strip())
            if n_lines > MAX_FUNCTION_LINES:
                long.append(f"{node.name} ({n_lines} lines)")
    assert not long, f"sk_dae.{name}: functions longer than {MAX_FUNCTION_LINES} lines: {long}"


def module_map():
    """The module map of docs/design.rst, as reStructuredText, from ``FOLDERS`` and
    ``LAYOUT``."""
    lines = [
        ".. This file is generated by `python tests/test_layout.py` from the rules that",
        "   tests/test_layout.py enforces; edit those, not this file.",
        "",
    ]
    for folder, (idea, reachable) in FOLDERS.items():
        title = "sk_dae/ (top level)" if folder == "." else f"sk_dae/{folder}/"
        below = ", ".join("the top level" if f == "." else f"``{f}/``" for f in sorted(reachable))
        lines += [f"``{title}``", f"   {idea}. May import: {below}.", ""]
        rows = [
            (f"``{name}``", idea, ", ".join(f"``{m}``" for m in sorted(allowed)) or "nothing")
            for name, (idea, allowed) in LAYOUT.items()
            if _folder(name) == folder
        ]
        lines += _list_table(rows)
    return "\n".join(lines).rstrip() + "\n"


def _list_table(rows):
    out = [".. list-table::", "   :header-rows: 1", "   :widths: 25 45 30", ""]
    for row in [("module", "its one idea", "may import from sk_dae"), *rows]:
        out.append(f"   * - {row[0]}")
        out += [f"     - {cell}" for cell in row[1:]]
    return out + [""]


def test_the_documented_module_map_is_the_enforced_one():
    assert MODULE_MAP.read_text() == module_map(), (
        "docs/includes/module_map.rst is stale: run `python tests/test_layout.py`."
    )


if __name__ == "__main__":
    MODULE_MAP.write_text(module_map())
    sys.exit(0)
