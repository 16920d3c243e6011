"""Sphinx configuration of the sk-dae documentation.

Build with ``make docs`` (or ``sphinx-build -W --keep-going -b html docs docs/_build/html``
once the ``docs`` extra is installed). The API reference is generated at every build from
``sk_dae.__all__`` and the ``__all__`` of the public modules (see ``api_reference.py``),
and the gallery runs every ``examples/plot_*.py``, so new names and new examples appear
without editing these files.
"""

import os
import sys
from pathlib import Path

import matplotlib

# sphinx-gallery resolves the names of every example to link them, also when the examples
# are not run (``-D sphinx_gallery_conf.plot_gallery=0``, a quick check of the site);
# sklearn.impute.IterativeImputer exists only once this is imported, which
# examples/plot_imputation.py does when it runs.
import sklearn.experimental.enable_iterative_imputer  # noqa: F401

matplotlib.use("Agg")  # the build has no screen

DOCS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS_DIR))  # for api_reference

from api_reference import write_api_reference  # noqa: E402

import sk_dae  # noqa: E402

# -- Project -----------------------------------------------------------------------------

project = "sk-dae"
author = "the sk-dae developers"
copyright = "the sk-dae developers"  # noqa: A001
release = sk_dae.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "includes"]
root_doc = "index"
default_role = "literal"  # `x` renders as code, never as a silent broken reference
pygments_style = "sphinx"

# -- Measured tables ---------------------------------------------------------------------

# ``sk-dae compare`` and the benchmark scripts write their tables as markdown; they are
# converted here into reST that the pages include (docs/gen_modules/*.rst), so a page
# always shows the file that the documented command wrote, never a hand-made copy.
GEN_DIR = DOCS_DIR / "gen_modules"
REPO_DIR = DOCS_DIR.parent


def markdown_to_rst(text, *, caption=None):
    """reST for a markdown file of ``#`` headings, paragraphs and pipe tables."""
    out, table = [], []

    def flush():
        if not table:
            return
        out.extend([f".. csv-table:: {caption}" if caption else ".. csv-table::"])
        out.extend(["   :header-rows: 1", ""])
        out.extend(
            "   " + ",".join('"' + cell.replace('"', '""') + '"' for cell in row) for row in table
        )
        out.append("")
        table.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if not set(stripped) <= set("|-: "):
                table.append([cell.strip() for cell in stripped.strip("|").split("|")])
            continue
        flush()
        if stripped.startswith("#"):
            out.extend([f"**{stripped.lstrip('#').strip()}**", ""])
        elif stripped:
            # A paragraph is plain text: markdown's ``**kwargs`` must not open reST bold.
            out.extend([stripped.replace("*", "\\*"), ""])
    flush()
    return "\n".join(out) + "\n"


def write_rst_table(results_md, out, *, preamble=(), caption=None):
    """Write ``out`` from ``results_md``; an empty file (and a message) if it is missing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if not results_md.is_file():
        out.write_text("", encoding="utf-8")
        print(f"conf.py: {results_md} does not exist; {out.name} is left empty")
        return
    text = markdown_to_rst(results_md.read_text(encoding="utf-8"), caption=caption)
    out.write_text("\n".join(preamble) + "\n\n" + text, encoding="utf-8")


write_rst_table(
    DOCS_DIR / "images" / "mnist" / "results.md",
    GEN_DIR / "comparison_table.rst",
    preamble=[
        "On MNIST (60,000 training and 10,000 test images), the table below is",
        "``docs/images/mnist/results.md``, written with the figures beside it by::",
        "",
        "    python -m sk_dae compare --preset mnist --mnist-path ../shared/data/mnist.npz \\",
        "        --output docs/images/mnist",
        "",
        "(``--preset mnist``: the defaults, that is a (512, 256) encoder mirrored by the",
        "decoder, about 5,000 steps under a cosine schedule from 3e-3, batch 256, with",
        "Gaussian training noise 0.3, 10% of the training split held out for the validation",
        "curve, seed 0. The budget makes 24 epochs of the 54,000 rows left after the",
        "hold-out, 22 of all 60,000.) The run took 28 min 28 s for all three widths,",
        "clustering rows included, on 2 cores shared with other jobs at a load of 6 to 8",
        "until its last minutes: the width-32 model, trained when the load had fallen, took",
        "94 s. ``results.json`` records the exact command line and the wall time",
        "(``wall_s``); the fit times are wall seconds on 2 threads.",
    ],
    caption="``sk-dae compare --preset mnist`` on the MNIST test split",
)
write_rst_table(
    DOCS_DIR / "images" / "mnist-cluster" / "results.md",
    GEN_DIR / "clustering_table.rst",
    caption="``sk-dae compare --preset mnist-cluster``: all 70,000 MNIST digits",
)
for name in (
    "fit_threads2_idle",
    "transform_idle",
    "threads",
    "outliers",
    "defaults",
    "learning_curve",
    "held_out_score",
    "outlier_defaults",
    "quality",
    "layerwise",
    "conv_threads1",
    "conv_threads2",
    "conv_quality_clean",
    "conv_quality_gaussian",
    "conv_quality_occlusion",
    "conv_quality_clean_20min",
    "conv_quality_gaussian_20min",
    "cluster_budget_10k_precision",
    "cluster_budget_10k_precision_avx2",
    "cluster_budget_10k_precision_amx",
    "deep_clustering_mnist_deckeras_bf16",
    "deep_clustering_mnist_deckeras_bf16_seed1",
    "deep_clustering_mnist_deckeras_bf16_seed2",
    "deep_clustering_mnist_deckeras_bf16_seed3",
    "deep_clustering_mnist_deckeras_bf16_seed4",
    "deep_clustering_mnist_deckeras_float32_seed0",
    "deep_clustering_mnist_deckeras_float32_seed1",
):
    write_rst_table(
        REPO_DIR / "benchmarks" / "results" / f"{name}.md", GEN_DIR / f"bench_{name}.rst"
    )

# -- Autodoc, autosummary, numpydoc ------------------------------------------------------

# api/index.rst and its stubs are generated here, from the package's __all__ lists.
API_MODULES = (
    "sk_dae.clustering",
    "sk_dae.datasets",
    "sk_dae.image",
    "sk_dae.metrics",
    "sk_dae.onnx",
    "sk_dae.plotting",
)
API_ENTRIES = write_api_reference(DOCS_DIR / "api", API_MODULES)

autosummary_generate = True
autosummary_generate_overwrite = True
autodoc_typehints = "none"  # types come from the numpydoc "Parameters" sections
autodoc_default_options = {"members": True}
autodoc_inherit_docstrings = False  # forward() would show torch.nn.Module.forward's text

numpydoc_show_class_members = True
# The method tables of estimators list what they inherit from scikit-learn; those of
# other classes (a torch module, a warning) only their own methods, not torch's dozens.
numpydoc_show_inherited_class_members = {
    name: False for name, template in API_ENTRIES if template == "class.rst"
}
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _sklearn_labels_as_text(app, env, node, contnode):
    """Render the labels of scikit-learn's own site as plain text.

    Methods inherited from scikit-learn (``set_output``, ``get_metadata_routing``, the
    ``set_*_request`` methods of metadata routing) bring docstrings that refer to
    sections and glossary terms of scikit-learn's documentation, which this site
    does not have (and intersphinx would need the network). Only references made inside
    scikit-learn's docstrings are let through; a broken label of ours still fails.
    """
    if node.get("reftype") in ("ref", "term") and "docstring of sklearn." in (node.source or ""):
        return contnode
    return None


def setup(app):
    app.connect("missing-reference", _sklearn_labels_as_text)


# -- References ---------------------------------------------------------------------------

# Every reference must resolve, so that a renamed or misspelt name fails the build. Names
# of other projects cannot be resolved without intersphinx, which needs the network: they
# render as code instead of links.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(sklearn|torch|nn|numpy|np|scipy|matplotlib|joblib|pandas|dask|dask_ml|"
        r"distributed|safetensors|skorch|umap|threadpoolctl|tqdm|skimage|bm3d)(\..*)?",
    ),
]

# -- Gallery -----------------------------------------------------------------------------

# sphinx-gallery keeps the pages of examples that were since deleted or renamed; they
# would be orphan documents, a warning and so an error. Remove them.
for page in (DOCS_DIR / "auto_examples").glob("*.rst"):
    if page.stem not in ("index", "sg_execution_times"):
        if not (DOCS_DIR.parent / "examples" / f"{page.stem}.py").is_file():
            page.unlink()

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|conftest)\.py|/_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sk_dae",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"sk_dae": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    # Each example starts with torch's thread count of the build's start (see the module).
    "reset_modules": ("matplotlib", "gallery_reset.reset_torch_threads"),
    # A failing example fails the build (the default, stated here on purpose).
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
}

# -- Figures drawn from scripts in docs/pyplots (the plot directive) ---------------------

plot_basedir = str(DOCS_DIR)  # `.. plot:: pyplots/x.py` from any page
plot_include_source = False
plot_html_show_source_link = True
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.dpi": 100, "savefig.bbox": "tight"}
plot_apply_rcparams = True
plot_working_directory = str(DOCS_DIR.parent)  # scripts run from the repository root

# -- HTML --------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sk-dae {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "install": [], "auto_examples/index": []}

# Keep the build reproducible and quiet about the environment it runs in.
os.environ.setdefault("PYTHONHASHSEED", "0")
