"""The program that runs one part of a submission inside the sandbox, then its graded tests.

It runs as a script of the standard library alone (``python -I runner.py ENVIRONMENT``,
the folder holding the grading environment's ``pancake``), and reads a job (JSON on stdin): the cells to run first (setup and answer cells, in
notebook order), the graded tests, the names the answers must define and a nonce. Then:

1. it imports everything the graded tests import, *before* any learner code;
2. it takes a fingerprint of numpy, hypothesis, pancake, builtins and the import system
   (every function, class, constant and class attribute, by identity);
3. it runs the setup and answer cells in one namespace, as a notebook would;
4. if the learner's code changed the fingerprint, or an answer is pancake's own object
   (imported, subclassed), every test fails with the reason; otherwise each test runs,
   and the fingerprint is taken again after it.

Each result is written as one JSON line, with the nonce, to the results file descriptor.
A test with no result line (the interpreter died, was killed, or exited) earns nothing.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import io
import json
import linecache
import operator
import os
import sys
import traceback
import types
import warnings

MONITORED = (
    "numpy",
    "hypothesis",
    "pancake",
    "builtins",
    "importlib",
    "sys",
    "os",
    "inspect",
    "math",
    "warnings",
    "functools",
    "re",
)
OUTPUT_LIMIT = 20_000  # characters of printed output kept per cell


class CappedText(io.TextIOBase):
    """A text stream that keeps its first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT):
        self.limit, self.kept, self.dropped = limit, [], 0
        self.size = 0

    def write(self, text: str) -> int:
        room = self.limit - self.size
        self.kept.append(text[: max(room, 0)])
        self.size += min(len(text), max(room, 0))
        self.dropped += max(len(text) - max(room, 0), 0)
        return len(text)

    def getvalue(self) -> str:
        note = (
            f"\n[... {self.dropped} more characters of output not shown]\n" if self.dropped else ""
        )
        return "".join(self.kept) + note


def imported_modules(sources: list[str]) -> list[str]:
    """Every module an ``import`` statement of ``sources`` names (parents included)."""
    names = {"numpy", "hypothesis", "pancake.testing"}
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return sorted(names)


def fingerprint() -> dict[str, tuple]:
    """Everything a learner could rebind to fool a check: name -> the objects themselves
    (held, so that no new object can take the address of one that was replaced).

    In pancake's modules every attribute counts (a tolerance is a float); elsewhere the
    callables, classes and modules (libraries keep counters and caches in plain data).
    """
    prints: dict[str, tuple] = {
        "sys.meta_path": tuple(sys.meta_path),
        "sys.path_hooks": tuple(sys.path_hooks),
        "sys.path": tuple(sys.path),
        "sys.gettrace()": (sys.gettrace(),),
        "sys.getprofile()": (sys.getprofile(),),
    }
    for name, module in list(sys.modules.items()):
        top = name.split(".")[0]
        if module is None or top not in MONITORED:
            continue
        prints[f"sys.modules[{name!r}]"] = (module,)
        for attribute, value in list(vars(module).items()):
            if top != "pancake" and not _behaviour(value):
                continue
            prints[f"{name}.{attribute}"] = _identity(value)
            if isinstance(value, type) and getattr(value, "__module__", None) == name:
                for key, member in list(vars(value).items()):
                    if top == "pancake" or _behaviour(member):
                        prints[f"{name}.{attribute}.{key}"] = _identity(member)
    return prints


def _behaviour(value: object) -> bool:
    """Code rather than data: what a check calls."""
    return callable(value) or isinstance(
        value, (types.ModuleType, staticmethod, classmethod, property)
    )


def _identity(value: object) -> tuple:
    """The object and what a swap of its insides would change: code, defaults, getter."""
    function = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
    return (
        value,
        getattr(function, "__code__", None),
        getattr(function, "__defaults__", None),
        getattr(function, "__kwdefaults__", None),
    )


def same(first: tuple, second: tuple | None) -> bool:
    """The same objects, one for one (identity, never ``==``: arrays compare entry-wise)."""
    return (
        second is not None and len(first) == len(second) and all(map(operator.is_, first, second))
    )


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """The names whose identity differs, the import system's first; a replaced module is
    named once, not with each of its attributes (modules imported since are no change)."""
    changed = [name for name, objects in before.items() if not same(objects, after.get(name))]
    replaced = [
        name[len("sys.modules['") : -2] + "." for name in changed if name.startswith("sys.modules[")
    ]
    shown = [name for name in changed if not name.startswith(tuple(replaced))]
    return sorted(shown, key=lambda name: (not name.startswith("sys."), name))


# What an answer never needs and the grader's reach starts with: the checks and their
# references (pancake.testing ships a documented training loop, optimizer rules...), the
# course, and the tools that reach into other code (import machinery, frames, the heap).
OFF_LIMITS_MODULES = ("pancake.testing", "pancake.course", "importlib", "gc", "ctypes", "inspect")
OFF_LIMITS_NAMES = ("__import__", "sys.modules", "sys._getframe", "sys.meta_path", "builtins")


def off_limits(source: str) -> list[str]:
    """What an answer cell uses that answers may not: imports and names, read statically."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # running the cell reports it
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, (ast.Name, ast.Attribute)):
            found.add(ast.unparse(node))
    used = [
        name
        for name in sorted(found)
        if name.startswith(OFF_LIMITS_MODULES) or name.startswith(OFF_LIMITS_NAMES)
    ]
    return [f"answers may not use {name}" for name in used]


def own_objects(names: list[str], namespace: dict) -> list[str]:
    """Answers that are, or subclass, an object of the pancake package itself."""
    found = []
    for name in names:
        value = namespace.get(name)
        module = getattr(value, "__module__", "") or ""
        bases = value.__mro__[1:] if isinstance(value, type) else ()
        same_name = [b for b in bases if b.__name__ == name and b.__module__.startswith("pancake")]
        if module.startswith("pancake") or same_name:
            where = same_name[0].__module__ if same_name else module
            found.append(f"{name} is pancake's own ({where}.{name}), not one you wrote")
    return found


class Reporter:
    """Writes one JSON line per event to the results file descriptor."""

    def __init__(self, fd: int, nonce: str):
        self.stream = os.fdopen(fd, "w", buffering=1)
        self.nonce = nonce

    def send(self, **event) -> None:
        self.stream.write(json.dumps({"nonce": self.nonce, **event}) + "\n")
        self.stream.flush()


def remember(source: str, name: str) -> str:
    """Register ``source`` under the file name ``name``, as IPython does for a cell: tracebacks
    show its lines, and hypothesis derives a derandomized test's examples from its source,
    so a graded test draws the examples it draws in a notebook."""
    linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)
    return name


def without_module_purge(source: str, name: str) -> types.CodeType:
    """``source`` compiled with its ``del sys.modules[...]`` statements left out.

    A graded cell may forget and re-import the checks (to escape an answer that rebinds
    them, in nbgrader's shared kernel). Here the checks were imported before any learner
    code and their fingerprint proves them intact, so the purge is dropped: the tests use
    the very modules that the fingerprint covers.
    """
    remember(source, name)
    tree = ast.parse(source)

    class DropPurge(ast.NodeTransformer):
        def visit_Delete(self, node: ast.Delete) -> ast.AST:
            purges = any(ast.unparse(target).startswith("sys.modules[") for target in node.targets)
            return ast.copy_location(ast.Pass(), node) if purges else node

    return compile(ast.fix_missing_locations(DropPurge().visit(tree)), name, "exec")


def run_cell(code: str | types.CodeType, name: str, namespace: dict) -> tuple[str, dict | None]:
    """Run ``code`` in ``namespace``; return its printed output and its error, if any."""
    output = CappedText()
    error = None
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            if not isinstance(code, types.CodeType):
                code = compile(code, remember(code, name), "exec")
            exec(code, namespace)
        except BaseException as exception:  # noqa: BLE001 -- any failure is the cell's result
            error = {
                "ename": type(exception).__name__,
                "evalue": message(exception),
                "traceback": formatted(exception),
            }
    return output.getvalue(), error


def formatted(exception: BaseException) -> list[str]:
    """The traceback as Python prints it, sub-exceptions of a group included (hypothesis
    reports distinct failures as one), cut in its middle when longer than the output limit."""
    text = "".join(traceback.format_exception(exception))
    if len(text) > OUTPUT_LIMIT:
        head = OUTPUT_LIMIT // 10
        text = text[:head] + "\n[... traceback cut ...]\n" + text[head - OUTPUT_LIMIT :]
    return [text]


def message(exception: BaseException) -> str:
    """The exception's message, with those of a group's sub-exceptions."""
    parts = [str(exception)]
    for inner in getattr(exception, "exceptions", ()):
        parts.append(f"{type(inner).__name__}: {message(inner)}")
    return "\n".join(parts)[:OUTPUT_LIMIT]


def refusal(reasons: list[str]) -> dict:
    shown = "; ".join(reasons[:5]) + ("; ..." if len(reasons) > 5 else "")
    return {"ename": "GradingRefused", "evalue": shown, "traceback": []}


def main() -> None:
    """``python -I runner.py ENVIRONMENT``: grade against the pancake in ENVIRONMENT."""
    sys.path.insert(0, sys.argv[1])
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    reporter = Reporter(job["results_fd"], job.pop("nonce"))
    warnings.simplefilter("ignore")
    tests = [
        (test["id"], without_module_purge(test["source"], test["id"])) for test in job["tests"]
    ]
    for module in imported_modules([test["source"] for test in job["tests"]]):
        importlib.import_module(module)
    before = fingerprint()
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for cell in job["cells"]:
        reporter.send(begin=cell["id"])
        output, error = run_cell(cell["source"], cell["id"], namespace)
        reporter.send(cell=cell["id"], output=output, error=error)
    reasons = [f"your code changed {name}" for name in changes(before, fingerprint())]
    reasons += own_objects(job["answers"], namespace)
    for cell in job["cells"]:
        if cell["id"] in job["answer_ids"]:
            reasons += off_limits(cell["source"])
    for test_id, code in tests:
        reporter.send(begin=test_id)
        if reasons:
            reporter.send(test=test_id, output="", error=refusal(reasons))
            continue
        output, error = run_cell(code, test_id, dict(namespace))
        reasons = [f"your code changed {name}" for name in changes(before, fingerprint())]
        reporter.send(test=test_id, output=output, error=refusal(reasons) if reasons else error)
    reporter.send(done=True)


if __name__ == "__main__":
    main()
