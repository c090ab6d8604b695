"""Read cell code out of modules: an answer and the imports it needs; a graded test or a
visible check of an assignment module, with the imports and helpers it needs."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import textwrap
from collections.abc import Callable, Collection
from types import ModuleType

from pancake.testing.errors import crashes_explained

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# Inside a SOLUTION region, an optional BROKEN line splits the reference code from the
# code learners start from, written as comments: "### BROKEN" then "# wrong line".
BROKEN = "### BROKEN"
# What nbgrader puts in place of a region (its default ClearSolutions.code_stub).
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
REGION = re.compile(
    rf"^(?P<indent>[ \t]*){BEGIN}\n(?P<body>.*?)^[ \t]*{END}(\n|$)", re.MULTILINE | re.DOTALL
)
PRELUDE = "pancake.course.prelude"  # the names every graded cell defines before its test


@functools.cache  # inspect.getsource parses a class's whole module: once per object
def answer_source(obj: object) -> str:
    """The source of a pancake class or function, which must hold a marked SOLUTION region."""
    source = inspect.getsource(obj).strip()
    if BEGIN not in source or END not in source:
        raise ValueError(
            f"{obj.__module__}.{obj.__qualname__} has no `{BEGIN}` / `{END}` region: "
            "mark the lines learners write before making it an exercise"
        )
    return source


def has_broken_code(obj: object) -> bool:
    """Whether a SOLUTION region of ``obj`` gives learners broken code to fix instead of a stub."""
    return any(line.strip() == BROKEN for line in answer_source(obj).splitlines())


def starter_source(obj: object) -> str:
    """The answer as the released notebook shows it: each SOLUTION region replaced.

    A region with a ``### BROKEN`` part becomes that part, uncommented (an exercise in
    finding bugs); a region without one becomes nbgrader's stub, indented like the region.
    """
    starter = REGION.sub(lambda region: _starter_lines(region, obj), answer_source(obj))
    return starter.rstrip("\n")


def _starter_lines(region: re.Match, obj: object) -> str:
    """The lines that replace one region, each ending with a newline (none if it is empty)."""
    indent, body = region["indent"], region["body"]
    _, marker, broken = body.partition(f"{indent}{BROKEN}\n")
    if not marker:
        return "".join(f"{indent}{line}\n" for line in STUB)
    return "".join(f"{_uncomment(line, obj)}\n" for line in broken.splitlines())


def _uncomment(line: str, obj: object) -> str:
    """``    # code`` -> ``    code``: a line of a BROKEN part, which must be a comment."""
    code = line.lstrip()
    if code and not code.startswith("#"):
        raise ValueError(
            f"{obj.__module__}.{obj.__qualname__}: after `{BROKEN}`, write the broken code "
            f"as comments (`# code`), got {line!r}"
        )
    return line[: len(line) - len(code)] + code.removeprefix("#").removeprefix(" ")


def setup_source(obj: object, answered: Collection[str] = ()) -> str:
    """The import lines the source of ``obj`` needs, taken from its module.

    Keeps ``from __future__`` imports, then each import of the module whose bound names
    the source or its starter code uses (pruned to those names), then one ``from <module>
    import ...`` for the module's own functions, classes and constants that it uses. Names in
    ``answered``, which earlier answer cells of the notebook define, are not imported:
    the source uses the learner's own, as a comment line says.
    """
    module = inspect.getmodule(obj)
    _, tree = _parsed(module)
    used = _names_used(answer_source(obj)) | _names_used(starter_source(obj))
    used -= {obj.__name__}
    own = sorted(used & set(answered))
    used -= set(own)
    lines = [
        ast.unparse(statement)
        for statement in tree.body
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
    ]
    lines += _imports_of(tree, used, module.__name__)
    local = sorted(used & _names_defined(tree))
    if local:
        lines.append(f"from {module.__name__} import {', '.join(local)}")
    if own:
        lines.append(f"# {', '.join(own)}: your own answer, defined above")
    return "\n".join(lines)


def graded_test_source(function: Callable, answered: Collection[str]) -> str:
    """A graded test as its cell runs it, after the graded prelude: what it needs, then a call.

    The imports of the test's module that bind names the test uses, except the prelude's
    names and the learner's (``answered``); the module-level helpers it uses, copied in
    the module's order; the test's source (decorators included); ``test_name()``.
    """
    prelude = set(importlib.import_module(PRELUDE).__all__)
    source = inspect.getsource(function).strip()
    needs = _needs(inspect.getmodule(function), source, {function.__name__, *answered, *prelude})
    return "\n\n".join([*needs, source, f"{function.__name__}()"])


def check_source(function: Callable, answered: Collection[str]) -> str:
    """A visible check as its cell holds it: the imports and helpers it needs, then its body.

    Names the module imports from the graded prelude are imported the way the prelude
    imports them (``import numpy as np``): the check runs where no prelude has run. The
    body runs under ``crashes_explained()``: a crash of the learner's code in it is
    explained as in a graded test.
    """
    tree = ast.parse(inspect.getsource(function)).body[0]
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    lines = inspect.getsource(function).splitlines()
    start = _with_comments_above(lines, body[0].lineno)
    code = textwrap.dedent("\n".join(lines[start - 1 : body[-1].end_lineno])).strip()
    needs = _needs(inspect.getmodule(function), code, {function.__name__, *answered})
    imports = f"from {crashes_explained.__module__} import crashes_explained"
    if needs and needs[0].startswith(("import ", "from ")):
        needs[0] = f"{needs[0]}\n{imports}"
    else:
        needs.insert(0, imports)
    explained = "with crashes_explained():  # a crash in your code is explained\n"
    return "\n\n".join([*needs, explained + textwrap.indent(code, "    ")])


def module_code(module: ModuleType) -> str:
    """The code of ``module`` as written, without its docstring and its ``__all__``."""
    source = inspect.getsource(module)
    dropped = {
        line
        for statement in ast.parse(source).body
        if _is_docstring(statement) or "__all__" in _targets(statement)
        for line in range(statement.lineno, statement.end_lineno + 1)
    }
    lines = source.splitlines()
    return "\n".join(line for number, line in enumerate(lines, 1) if number not in dropped).strip()


@functools.cache
def _parsed(module: ModuleType) -> tuple[str, ast.Module]:
    """The source of ``module`` and its syntax tree (read once; callers must not change it)."""
    source = inspect.getsource(module)
    return source, ast.parse(source)


def _needs(module: ModuleType, source: str, skip: set[str]) -> list[str]:
    """The import block and the helpers (module-level definitions) that ``source`` uses.

    Helpers are followed transitively: a helper's own imports and helpers come too.
    Returns at most two blocks: the import lines, then the helpers' sources.
    """
    module_source, tree = _parsed(module)
    lines = module_source.splitlines()
    definitions = {
        name: statement
        for statement in tree.body
        if not isinstance(statement, (ast.Import, ast.ImportFrom))
        for name in _targets(statement)
    }
    used, pending, helpers = set(), _names_used(source) - skip, set()
    while pending:
        name = pending.pop()
        used.add(name)
        if name in definitions and definitions[name] not in helpers:
            helpers.add(definitions[name])
            helper = _statement_source(lines, definitions[name])
            pending |= _names_used(helper) - skip - used
    _, prelude = _parsed(importlib.import_module(PRELUDE))
    imports = _imports_of(prelude, used & _reexported(tree), PRELUDE)
    imports += _imports_of(tree, used - _reexported(tree), module.__name__)
    blocks = ["\n".join(imports)] if imports else []
    ordered = sorted(helpers, key=lambda statement: statement.lineno)
    blocks += [_statement_source(lines, statement) for statement in ordered]
    return blocks


def _imports_of(tree: ast.Module, names: Collection[str], module_name: str) -> list[str]:
    """The import statements of ``tree`` that bind some of ``names``, pruned to those."""
    lines = []
    for statement in tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            continue
        if isinstance(statement, ast.ImportFrom) and statement.level:
            raise ValueError(f"{module_name}: use absolute imports, not {ast.unparse(statement)}")
        kept = [alias for alias in statement.names if _bound_name(alias) in names]
        if kept:
            lines.append(ast.unparse(type(statement)(**{**vars(statement), "names": kept})))
    return lines


def _reexported(tree: ast.Module) -> set[str]:
    """The names a module imports from the graded prelude."""
    return {
        _bound_name(alias)
        for statement in tree.body
        if isinstance(statement, ast.ImportFrom) and statement.module == PRELUDE
        for alias in statement.names
    }


def _names_used(source: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def _bound_name(alias: ast.alias) -> str:
    """The name an import binds: ``np`` for ``numpy as np``, ``collections`` for ``collections.abc``."""
    return alias.asname or alias.name.split(".")[0]


def _names_defined(tree: ast.Module) -> set[str]:
    """Top-level functions, classes and assigned names of a module (not its imports)."""
    return {name for statement in tree.body for name in _targets(statement)}


def _targets(statement: ast.stmt) -> list[str]:
    """The names a top-level function, class or assignment defines."""
    if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return [
            node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)
        ]
    return []


def _statement_source(lines: list[str], statement: ast.stmt) -> str:
    """A top-level statement's source, with its decorators and the comment lines above it."""
    decorators = getattr(statement, "decorator_list", [])
    first = min([statement.lineno, *(decorator.lineno for decorator in decorators)])
    return "\n".join(lines[_with_comments_above(lines, first) - 1 : statement.end_lineno])


def _with_comments_above(lines: list[str], first: int) -> int:
    """The first line (1-based) of line ``first`` and the comment lines right above it."""
    while first > 1 and lines[first - 2].strip().startswith("#"):
        first -= 1
    return first


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )
