"""The program that runs one part of a submission inside the sandbox, then its graded tests.

It runs as a script of the standard library alone (``python -I runner.py ENVIRONMENT``,
the folder holding the grading environment's ``pancake``), and reads a job (JSON on
stdin): the cells to run first (setup and answer cells, in notebook order), the graded
tests, the names the answers must define, a nonce, and the recorded optimizer steps that
the tests draw from (in no file of the sandbox: an answer could look its expected steps
up there). Then:

1. it imports everything the graded tests import, *before* any learner code;
2. it takes a fingerprint of numpy, hypothesis, pancake, builtins and the import system
   (every function, class, constant and class attribute, by identity);
3. it runs the setup and answer cells in one namespace, as a notebook would (that
   namespace is ``__main__``), under an audit hook that keeps frames, the heap and memory
   out of their reach (``frame_guard``);
4. if the learner's code changed the fingerprint, used what answers may not, or an answer
   is pancake's own object (imported, subclassed), every test fails with the reason;
   otherwise each test runs, and the fingerprint is taken again after it.

Each result is written as one JSON line, with the nonce, to the results
file descriptor. A test with no result line (the interpreter died, was killed, or exited)
earns nothing.

**Learner code shares this interpreter**: it can rebind any attribute of any module
(``json.dumps``, ``os.write``, ``builtins.repr``) and reach the globals of any function it
can reach. So what this program relies on once learner code has run is held in the
names of this module, which nothing learner code can reach refers to (no class of it is
handed out, ``__main__`` is the learner's namespace), and its builtins are a copy taken
at start. Results are written with C functions only (``_json``'s quoting, ``os.write``).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import io
import json
import linecache
import os
import signal
import sys
import traceback
import types
import warnings

__builtins__ = dict(vars(builtins))  # this module's own: learner code rebinds the shared one
# What is called after learner code has run, bound before (learner code may rebind the
# modules' attributes, not these names).
write, getcwd = os.write, os.getcwd
getframe, gettrace, getprofile = sys._getframe, sys.gettrace, sys.getprofile
getsignal, SIGNALS = signal.getsignal, tuple(signal.valid_signals())
format_exception = traceback.format_exception
ModuleType, CodeType, StringIO, TextIOBase = (
    types.ModuleType,
    types.CodeType,
    io.StringIO,
    io.TextIOBase,
)
MODULES, STDOUT, STDERR = sys.modules, sys.stdout, sys.stderr
exact_text = "".join  # joins into a new str: never a learner's str subclass
quoted = json.encoder.encode_basestring_ascii  # C (_json), as json.dumps writes a str

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


# Printed text goes to an instance of this class: learner code can reach the class (it is
# sys.stdout), so it is defined apart, its methods' globals holding nothing of this module.
CAPPED_TEXT = """
class CappedText(TextIOBase):
    \"\"\"A text stream that keeps its first ``limit`` characters and counts the rest.\"\"\"

    def __init__(self, limit=OUTPUT_LIMIT):
        self.limit, self.kept, self.dropped = limit, [], 0
        self.size = 0

    def write(self, text):
        room = self.limit - self.size
        self.kept.append(text[: max(room, 0)])
        self.size += min(len(text), max(room, 0))
        self.dropped += max(len(text) - max(room, 0), 0)
        return len(text)

    def getvalue(self):
        note = (
            f"\\n[... {self.dropped} more characters of output not shown]\\n" if self.dropped else ""
        )
        return "".join(self.kept) + note
"""


def defined_apart(source: str, name: str, **names: object) -> object:
    """``name`` as ``source`` defines it, in a namespace of its own with ``names``."""
    namespace = {"__builtins__": dict(vars(builtins)), **names}
    exec(source, namespace)
    return namespace[name]


CappedText = defined_apart(
    CAPPED_TEXT, "CappedText", TextIOBase=TextIOBase, OUTPUT_LIMIT=OUTPUT_LIMIT
)


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
        "sys.gettrace()": (gettrace(),),
        "sys.getprofile()": (getprofile(),),
        "sys.modules": (sys.modules,),
        "signal handlers": tuple(getsignal(number) for number in SIGNALS),
    }
    for name, module in list(MODULES.items()):
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
    return callable(value) or isinstance(value, (ModuleType, staticmethod, classmethod, property))


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
        second is not None
        and len(first) == len(second)
        and all(a is b for a, b in zip(first, second, strict=True))
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


# Audit events that hand over what answers never need, whoever asks while an answer's
# code runs: the heap, tracers, raw memory, other processes, other audit hooks, and the
# graded optimizer steps (pancake.testing.optimizers.SEALED_EVENT).
OUT_OF_REACH = (
    "pancake.testing.sealed",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "sys._current_frames",
    "sys.settrace",
    "sys.setprofile",
    "ctypes.",
    "os.fork",
    "os.forkpty",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "subprocess.Popen",
    "sys.addaudithook",
)
FRAME_ATTRIBUTES = ("tb_frame", "gi_frame", "cr_frame", "ag_frame")
HANDS_OUT_FRAMES = ("inspect.py", "traceback.py")  # library files whose frames go to callers


def frame_guard(learner_files: set[str], used: list[str]):
    """An audit hook (``sys.addaudithook``) that keeps the grader's frames and memory out
    of the reach of learner code: while a function of an answer or setup cell (a file of
    ``learner_files``) runs, nothing may hand it a frame (``sys._getframe``, a traceback's
    ``tb_frame``, a generator's ``gi_frame``, ``inspect``, ``traceback.walk_stack``...) or
    the heap (``gc``), set a tracer or an audit hook, read memory (``ctypes``, ``/proc``) or
    start a process. The attempt raises, and ``used`` gets its reason for the refusal.

    Library code that looks at its caller for its own ends and hands no frame out stays
    free (``logging`` finding the caller's line, ``namedtuple`` its module, printing a
    caught exception's traceback).
    """
    busy = []  # not empty while the hook looks at the stack itself

    def hook(event: str, args: tuple) -> None:
        if busy:
            return
        what = asked_for(event, args)
        if what is None:
            return
        busy.append(True)
        try:
            forbidden = refused(what, getframe(1), learner_files)
        finally:
            busy.clear()
        if forbidden:
            reason = f"your code used {what}: the grader's frames and memory are out of reach"
            if reason not in used:
                used.append(reason)
            raise RuntimeError(f"grading: answers may not use {what}")

    return hook


def asked_for(event: str, args: tuple) -> str | None:
    """What the audit event would hand over that may be out of bounds, or None."""
    if event == "object.__getattr__":
        return args[1] if args[1] in FRAME_ATTRIBUTES else None
    if event in ("open", "os.symlink", "os.link", "os.chdir"):
        paths = [path_text(arg) for arg in args[:2]]
        absolute = [path if path.startswith("/") else f"{getcwd()}/{path}" for path in paths]
        in_proc = any("proc" in path.split("/") for path in absolute)
        return f"{event}({paths[0]!r})" if in_proc else None
    if event == "sys._getframe" or event.startswith(OUT_OF_REACH):
        return event
    return None


def path_text(value: object) -> str:
    """A path argument as plain text ('' for a file descriptor or anything else)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return exact_text([value]) if isinstance(value, str) else ""


def refused(what: str, caller: types.FrameType, learner_files: set[str]) -> bool:
    """Whether ``caller``, the frame that asked, may not have ``what``."""
    stack = [caller]
    while stack[-1].f_back is not None:
        stack.append(stack[-1].f_back)
    if not any(frame.f_code.co_filename in learner_files for frame in stack):
        return False
    if what not in ("sys._getframe", "tb_frame"):
        return True  # memory, the heap, tracers, processes, a generator's frame
    code = caller.f_code
    if code.co_filename in learner_files or code.co_name == "walk_tb":
        return True
    if code.co_filename.endswith(HANDS_OUT_FRAMES):
        return what == "sys._getframe" or code.co_filename.endswith("inspect.py")
    asker = caller.f_back.f_code.co_name if caller.f_back else ""
    return (
        code.co_name == "<lambda>"
        and code.co_filename.endswith("logging/__init__.py")
        and asker != "findCaller"
    )  # logging.currentframe() called by an answer


def send(fd: int, nonce: str, **event: object) -> None:
    """Write one result line, JSON written by this module's own ``as_json``."""
    data = (as_json({"nonce": nonce, **event}) + "\n").encode()
    while data:
        data = data[write(fd, data) :]


def as_json(value: object) -> str:
    """``value`` (None, a bool, a str, or a list or dict of them) as JSON, by C functions
    only: learner code may have rebound ``json.dumps`` to rewrite results."""
    if value is None or value is True or value is False:
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, list):
        return "[" + ", ".join([as_json(item) for item in value]) + "]"
    if isinstance(value, dict):
        items = [f"{quoted(key)}: {as_json(item)}" for key, item in value.items()]
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"no JSON for {type(value).__name__}")


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
    for node in ast.walk(tree):
        for _, value in ast.iter_fields(node):
            if isinstance(value, list):
                value[:] = [ast.copy_location(ast.Pass(), v) if purges(v) else v for v in value]
    return compile(ast.fix_missing_locations(tree), name, "exec")


def purges(node: ast.AST) -> bool:
    """Whether ``node`` is a ``del sys.modules[...]`` statement."""
    return isinstance(node, ast.Delete) and any(
        ast.unparse(target).startswith("sys.modules[") for target in node.targets
    )


def run_cell(code: str | CodeType, name: str, namespace: dict) -> tuple[str, dict | None]:
    """Run ``code`` in ``namespace``; return its printed output and its error, if any."""
    output = CappedText()
    error = None
    sys.stdout = sys.stderr = output
    try:
        if not isinstance(code, CodeType):
            code = compile(code, remember(code, name), "exec")
        exec(code, namespace)
    except BaseException as exception:  # noqa: BLE001 -- any failure is the cell's result
        error = {
            "ename": text_of(getattr, type(exception), "__name__"),
            "evalue": text_of(message, exception),
            "traceback": [text_of(formatted, exception)],
        }
    finally:
        sys.stdout, sys.stderr = STDOUT, STDERR
    return text_of(output.getvalue), error


def text_of(produce, *args: object) -> str:
    """``produce(*args)`` as a plain str (learner code may have changed what produces it)."""
    try:
        return exact_text([str(produce(*args))])[: 2 * OUTPUT_LIMIT]  # room for notes on cuts
    except BaseException as exception:  # noqa: BLE001 -- the text is lost, never the result
        return f"(could not be shown: {type(exception).__name__})"


def formatted(exception: BaseException) -> str:
    """The traceback as Python prints it, sub-exceptions of a group included (hypothesis
    reports distinct failures as one), cut in its middle when longer than the output limit."""
    text = "".join(format_exception(exception))
    if len(text) > OUTPUT_LIMIT:
        head = OUTPUT_LIMIT // 10
        text = text[:head] + "\n[... traceback cut ...]\n" + text[head - OUTPUT_LIMIT :]
    return text


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
    fd, nonce = job.pop("results_fd"), job.pop("nonce")
    warnings.simplefilter("ignore")
    tests = [
        (test["id"], without_module_purge(test["source"], test["id"])) for test in job["tests"]
    ]
    for module in imported_modules([test["source"] for test in job["tests"]]):
        importlib.import_module(module)
    recorded_steps = job.pop("recorded_steps", None)
    if recorded_steps:
        importlib.import_module("pancake.testing.optimizers").add_recorded(recorded_steps)
    del recorded_steps
    unusable = [
        reason
        for cell in job["cells"]
        if cell["id"] in job["answer_ids"]
        for reason in off_limits(cell["source"])
    ]
    learner = ModuleType("__main__")  # the learner's namespace, as in a notebook's kernel
    namespace = vars(learner)
    namespace["__builtins__"] = builtins
    MODULES["__main__"] = learner
    before = fingerprint()
    used: list[str] = []
    sys.addaudithook(frame_guard({cell["id"] for cell in job["cells"]}, used))
    for cell in job["cells"]:
        send(fd, nonce, begin=cell["id"])
        output, error = run_cell(cell["source"], cell["id"], namespace)
        send(fd, nonce, cell=cell["id"], output=output, error=error)
    reasons = [f"your code changed {name}" for name in changes(before, fingerprint())]
    reasons += used + own_objects(job["answers"], namespace) + unusable
    for test_id, code in tests:
        send(fd, nonce, begin=test_id)
        if reasons:
            send(fd, nonce, test=test_id, output="", error=refusal(reasons))
            continue
        output, error = run_cell(code, test_id, dict(namespace))
        reasons = [f"your code changed {name}" for name in changes(before, fingerprint())]
        reasons += used
        send(fd, nonce, test=test_id, output=output, error=refusal(reasons) if reasons else error)
    send(fd, nonce, done=True)


if __name__ == "__main__":
    main()
