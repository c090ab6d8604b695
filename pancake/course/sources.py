"""Read an answer out of the package: its source, and the imports it needs to run in a notebook."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Collection

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def answer_source(obj: object) -> str:
    """The source of a pancake class or function, which must hold a marked SOLUTION region."""
    source = inspect.getsource(obj).strip()
    if BEGIN not in source or END not in source:
        raise ValueError(
            f"{obj.__module__}.{obj.__qualname__} has no `{BEGIN}` / `{END}` region: "
            "mark the lines learners write before making it an exercise"
        )
    return source


def setup_source(obj: object, answered: Collection[str] = ()) -> str:
    """The import lines the source of ``obj`` needs, taken from its module.

    Keeps ``from __future__`` imports, then each import of the module whose bound names
    the source uses (pruned to those names), then one ``from <module> import ...`` for
    the module's own functions, classes and constants that it uses. Names in
    ``answered``, which earlier answer cells of the notebook define, are not imported:
    the source uses the learner's own, as a comment line says.
    """
    module = inspect.getmodule(obj)
    tree = ast.parse(inspect.getsource(module))
    used = _names_used(answer_source(obj)) - {obj.__name__}
    own = sorted(used & set(answered))
    used -= set(own)
    lines = []
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            lines.append(ast.unparse(statement))
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            if isinstance(statement, ast.ImportFrom) and statement.level:
                raise ValueError(
                    f"{module.__name__}: use absolute imports, not {ast.unparse(statement)}"
                )
            kept = [alias for alias in statement.names if _bound_name(alias) in used]
            if kept:
                statement.names = kept
                lines.append(ast.unparse(statement))
    local = sorted(used & _names_defined(tree))
    if local:
        lines.append(f"from {module.__name__} import {', '.join(local)}")
    if own:
        lines.append(f"# {', '.join(own)}: your own answer, defined above")
    return "\n".join(lines)


def _names_used(source: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def _bound_name(alias: ast.alias) -> str:
    """The name an import binds: ``np`` for ``numpy as np``, ``collections`` for ``collections.abc``."""
    return alias.asname or alias.name.split(".")[0]


def _names_defined(tree: ast.Module) -> set[str]:
    """Top-level functions, classes and assigned names of a module (not its imports)."""
    names = set()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update(
                node.id
                for target in targets
                for node in ast.walk(target)
                if isinstance(node, ast.Name)
            )
    return names
