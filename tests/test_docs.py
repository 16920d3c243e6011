"""The API reference stays complete: every public name is documented the numpydoc way.

The doctests themselves run through ``--doctest-modules`` (pyproject.toml); these tests
check that every public class and function *has* an Examples section with a doctest in
it, that documented parameters match the signatures, and that the generated API page
(docs/api_reference.py, used by docs/conf.py) lists every public name.
"""

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

import sk_dae

# numpydoc comes with the docs extra; without it this file skips instead of failing.
docscrape = pytest.importorskip("numpydoc.docscrape")
numpydoc_validate = pytest.importorskip("numpydoc.validate")

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS))
from api_reference import public_names, write_api_reference  # noqa: E402

# The public modules beside the package's own namespace (those that exist).
PUBLIC_MODULES = [
    name
    for name in (
        "sk_dae.clustering",
        "sk_dae.datasets",
        "sk_dae.image",
        "sk_dae.metrics",
        "sk_dae.onnx",
        "sk_dae.plotting",
    )
    if importlib.util.find_spec(name) is not None
]


def _public_objects():
    objects = [(f"sk_dae.{name}", getattr(sk_dae, name)) for name in public_names(sk_dae)]
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        objects += [(f"{module_name}.{n}", getattr(module, n)) for n in public_names(module)]
    return objects


PUBLIC_OBJECTS = _public_objects()


def _public_methods():
    """Public methods defined by sk_dae's estimators (not inherited from sklearn)."""
    methods = []
    for qualname, obj in PUBLIC_OBJECTS:
        if not (inspect.isclass(obj) and issubclass(obj, sk_dae.DenoisingAutoencoder)):
            continue
        for name, member in vars(obj).items():
            if name.startswith("_"):
                continue
            if isinstance(member, (classmethod, staticmethod)):
                member = member.__func__
            if inspect.isfunction(member):
                methods.append(f"{qualname}.{name}")
    return methods


def test_the_reference_covers_the_package():
    names = [qualname for qualname, _ in PUBLIC_OBJECTS]
    assert "sk_dae.DenoisingAutoencoder" in names
    assert len(names) == len(set(names))


@pytest.mark.parametrize("qualname, obj", PUBLIC_OBJECTS, ids=[q for q, _ in PUBLIC_OBJECTS])
def test_public_name_has_numpydoc_docstring_with_examples(qualname, obj):
    assert inspect.getdoc(obj), f"{qualname} has no docstring"
    doc = docscrape.ClassDoc(obj) if inspect.isclass(obj) else docscrape.FunctionDoc(obj)
    assert doc["Summary"], f"{qualname}: the docstring has no one-line summary"
    examples = "\n".join(doc["Examples"])
    assert ">>>" in examples, (
        f"{qualname}: the docstring needs an Examples section with a doctest (>>> lines), "
        "which the test suite runs"
    )


@pytest.mark.parametrize("qualname", [q for q, _ in PUBLIC_OBJECTS] + _public_methods())
def test_documented_parameters_match_the_signature(qualname):
    # PR01: a parameter is missing from "Parameters"; PR02: a documented one does not
    # exist; GL08: no docstring at all.
    errors = [
        f"{code}: {message}"
        for code, message in numpydoc_validate.validate(qualname)["errors"]
        if code in {"GL08", "PR01", "PR02"}
    ]
    assert not errors, f"{qualname}: " + "; ".join(errors)


def test_api_page_lists_every_public_name(tmp_path):
    entries = write_api_reference(tmp_path / "api", PUBLIC_MODULES, log=lambda message: None)
    assert sorted(name for name, _ in entries) == sorted(q for q, _ in PUBLIC_OBJECTS)
    page = (tmp_path / "api" / "index.rst").read_text()
    for qualname, _ in PUBLIC_OBJECTS:
        module, _, name = qualname.rpartition(".")
        section = page.split(f".. currentmodule:: {module}\n", 1)
        assert len(section) == 2, f"no section for {module} on the API page"
        body = section[1].split(".. currentmodule::", 1)[0]
        assert f"\n   {name}\n" in body, f"{qualname} is missing from the API page"


def test_api_page_leaves_out_a_module_that_does_not_exist(tmp_path):
    messages = []
    write_api_reference(tmp_path / "api", ["sk_dae.no_such_module"], log=messages.append)
    page = (tmp_path / "api" / "index.rst").read_text()
    assert "no_such_module" not in page
    assert messages and "sk_dae.no_such_module" in messages[0]
