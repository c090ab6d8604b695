"""The import graph points one way: ops <- nn <- (optim, data, train, autograd, stax) <- testing <- course.

Each test reads the source (static imports, including those inside functions) and also
imports the package in a fresh interpreter, so that neither a top-level nor a hidden
import can make the framework depend on the tools built on top of it.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pancake"

# What each part of pancake may import from pancake (besides itself).
ALLOWED = {
    "pancake.ops": set(),
    "pancake.init": set(),
    "pancake.calculus": set(),
    "pancake.optim": set(),
    "pancake.nn": {"pancake.ops", "pancake.init"},
    "pancake.data": {"pancake.ops", "pancake.init"},
    "pancake.datasets": {"pancake.ops", "pancake.init", "pancake.data"},
    "pancake.train": {"pancake.ops", "pancake.init", "pancake.data", "pancake.nn"},
    "pancake.debugging": {
        "pancake.ops",
        "pancake.init",
        "pancake.data",
        "pancake.nn",
        "pancake.optim",
        "pancake.train",
    },
    "pancake.autograd": {"pancake.ops", "pancake.init"},
    "pancake.stax": {"pancake.ops", "pancake.init", "pancake.autograd"},
}
FRAMEWORK_ONLY = sorted(name for name in ALLOWED if importlib.util.find_spec(name))
TOOLS = ("pancake.testing", "pancake.course")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(name: str) -> str | None:
    """The entry of ALLOWED that module ``name`` belongs to (``pancake.nn.linear`` -> ``pancake.nn``)."""
    for part in ALLOWED:
        if name == part or name.startswith(part + "."):
            return part
    return None


def pancake_imports(path: Path) -> set[str]:
    """Every ``pancake...`` module a source file imports, anywhere in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("pancake.")}


def framework_files() -> list[Path]:
    return [path for path in sorted(PACKAGE.rglob("*.py")) if part_of(module_name(path))]


def test_every_framework_module_has_a_place_in_the_layering():
    """A new top-level module must be given its place in ALLOWED (or live in testing/course)."""
    for path in sorted(PACKAGE.glob("*.py")) + sorted(PACKAGE.glob("*/__init__.py")):
        name = module_name(path)
        if name == "pancake" or name.startswith(TOOLS):
            continue
        assert part_of(name), f"{name} is not in tests/test_architecture.py's ALLOWED layering"


@pytest.mark.parametrize("path", framework_files(), ids=lambda path: module_name(path))
def test_framework_modules_import_only_the_layers_below_them(path):
    own = part_of(module_name(path))
    for imported in pancake_imports(path):
        target = part_of(imported)
        if target == own:
            continue
        assert target in ALLOWED[own], (
            f"{module_name(path)} imports {imported}: {own} may import only "
            f"{sorted(ALLOWED[own]) or 'numpy and the standard library'}"
        )


# One interpreter imports NumPy (below every layer), then forks a child per package: each
# child starts with no pancake module loaded, as a fresh interpreter would, without paying
# for Python's and NumPy's start-up again.
LOADED_BY_EACH_IMPORT = """
import json, os, sys
import numpy
for package in sys.argv[1:]:
    read, write = os.pipe()
    if os.fork() == 0:
        __import__(package)
        loaded = sorted(m for m in sys.modules if m.startswith("pancake"))
        os.write(write, json.dumps(loaded).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        print(json.dumps([package, json.loads(pipe.read())]))
    os.wait()
"""


@pytest.fixture(scope="module")
def loaded_after_import() -> dict[str, list[str]]:
    """Each framework package -> the pancake modules that importing it loads."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED_BY_EACH_IMPORT, *FRAMEWORK_ONLY],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},  # no BLAS threads across fork()
    )
    return dict(json.loads(line) for line in result.stdout.splitlines())


@pytest.mark.parametrize("package", FRAMEWORK_ONLY)
def test_importing_a_framework_module_loads_no_tool_and_nothing_above_it(
    package, loaded_after_import
):
    assert package in loaded_after_import[package]
    for loaded in loaded_after_import[package]:
        owner = part_of(loaded)
        assert not loaded.startswith(TOOLS), f"import {package} loads {loaded}"
        assert owner is None or owner == package or owner in ALLOWED[package], (
            f"import {package} loads {loaded}"
        )


def test_the_checker_imports_cleanly_in_any_order():
    """testing sits on top of autograd: importing either first must work."""
    for first, second in (
        ("pancake.autograd", "pancake.testing"),
        ("pancake.testing", "pancake.autograd"),
    ):
        subprocess.run(
            [sys.executable, "-c", f"import {first}; import {second}"], check=True, cwd=ROOT
        )


def private_imports(source: str) -> list[str]:
    """Modules of a cell's source whose dotted name has a part starting with ``_``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # cells with IPython magics or stubs: read them line by line
        tree = ast.parse(
            "\n".join(line for line in source.splitlines() if line.startswith(("import", "from")))
        )
    found = []
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        found += [
            name
            for name in modules
            if name != "__future__" and any(part.startswith("_") for part in name.split("."))
        ]
    return found


def test_private_imports_are_found():
    assert private_imports("from pancake.nn._checks import as_float_array") == [
        "pancake.nn._checks"
    ]
    assert private_imports("from __future__ import annotations\nimport numpy as np") == []


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_no_notebook_cell_imports_a_private_module(folder):
    import nbformat

    notebooks = sorted((ROOT / folder).glob("*/*.ipynb"))
    assert notebooks, f"no notebooks in {folder}/"
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert not private_imports(cell.source), (
                    f"{path.relative_to(ROOT)}: cell {cell.get('id')} imports "
                    f"{private_imports(cell.source)}"
                )
