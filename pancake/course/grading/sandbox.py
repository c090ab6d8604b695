"""Run learner code in a sandbox: its own namespaces, a read-only view, capped resources.

With bubblewrap (``bwrap``, ``apt-get install bubblewrap``) the program sees only the
Python installation, the grading environment (read-only) and an empty scratch folder
(its only writable place), with no network and its own process tree, as an
unprivileged user. Without it, the program runs as the grader's own user with the same
limits, and a warning says that it could read and write the grader's files.

Everywhere: memory (address space), CPU time, file size and the bytes it may print are
capped; each graded test has a time limit, after which the whole process group is killed.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from pancake.course.grading import runner

NOBODY = 65534
LOG_LIMIT = 4000  # characters kept of what the interpreter writes outside the cells


@dataclass(frozen=True)
class Limits:
    """What one part's interpreter may use."""

    seconds_per_test: float = 30.0  # also the limit for running the setup and answer cells
    memory_bytes: int = 3 * 1024**3  # address space: NumPy and hypothesis need about 1 GB
    file_bytes: int = 64 * 1024**2  # largest file it may write in its scratch folder
    output_bytes: int = 2 * 1024**2  # results and printed output together
    processes: int = 64  # enforced for a non-root grader (the kernel exempts root)

    def __post_init__(self):
        # The limits are part of the key of a kept result: 30 from a config file and 30.0
        # from nbgrader's Float trait must make the same key, or nbgrader runs every part again.
        object.__setattr__(self, "seconds_per_test", float(self.seconds_per_test))
        for name in ("memory_bytes", "file_bytes", "output_bytes", "processes"):
            object.__setattr__(self, name, int(getattr(self, name)))


@dataclass
class Outcome:
    """What came back from one run: cell outputs and test results by id, and why it stopped."""

    cells: dict[str, dict] = field(default_factory=dict)
    tests: dict[str, dict] = field(default_factory=dict)
    stopped: str = ""  # empty when the program ran to its end
    log: str = ""  # the start of what it wrote outside the cells (interpreter errors)
    stopped_in: str = ""  # the cell or test it was running when it stopped


@functools.cache
def bubblewrap() -> str | None:
    """The path of a working ``bwrap``, or None (not installed, or namespaces not allowed)."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        command = [path, *_bwrap_view(Path(scratch)), *_as_nobody(), "true"]
        probe = subprocess.run(command, capture_output=True)
    return path if probe.returncode == 0 else None


def warn_if_unsandboxed() -> None:
    if bubblewrap() is None:
        warnings.warn(
            "bubblewrap (bwrap) is not available: learner code runs as your user, with "
            "limits on memory, CPU time and output, but it can read and write your files "
            "(the gradebook, solutions/). Install it: apt-get install bubblewrap.",
            stacklevel=2,
        )


def run(job: dict, environment: Path, limits: Limits, *, sandboxed: bool = True) -> Outcome:
    """Run ``job`` (see ``runner``) against the package in ``environment``; never raises.

    ``sandboxed=False`` runs it without bubblewrap, limits only (the benchmark's baseline).

    When the interpreter stops early (a time limit, too much output, a crash, an exit),
    the cell or test it was running gets the reason, and the job runs again without it:
    a fault costs only what it touches.
    """
    outcome = Outcome()
    cells, tests = list(job["cells"]), list(job["tests"])
    while tests:
        ran = _run_once({**job, "cells": cells, "tests": tests}, environment, limits, sandboxed)
        outcome.cells = {**ran.cells, **outcome.cells}
        outcome.tests.update(ran.tests)
        outcome.log = outcome.log or ran.log
        outcome.stopped = outcome.stopped or ran.stopped
        tests = [test for test in tests if test["id"] not in outcome.tests]
        if not ran.stopped:
            break
        if ran.stopped_in in {cell["id"] for cell in cells}:
            outcome.cells[ran.stopped_in] = _stopped_error(ran.stopped)
            cells = [cell for cell in cells if cell["id"] != ran.stopped_in]
        elif ran.stopped_in in {test["id"] for test in tests}:
            outcome.tests[ran.stopped_in] = _stopped_error(ran.stopped)
            tests = [test for test in tests if test["id"] != ran.stopped_in]
        else:
            break  # it stopped before any learner code: nothing to leave out
    for test in tests:
        outcome.tests[test["id"]] = _stopped_error(ran.stopped)
    return outcome


def _run_once(job: dict, environment: Path, limits: Limits, sandboxed: bool) -> Outcome:
    outcome = Outcome()
    nonce = secrets.token_hex(16)
    results_read, results_write = os.pipe()
    with tempfile.TemporaryDirectory(prefix="pancake-grading-") as scratch:
        sandboxed = sandboxed and bubblewrap() is not None
        if os.geteuid() == 0 and sandboxed:
            os.chown(scratch, NOBODY, NOBODY)
        command = _command(Path(scratch), environment, sandboxed)
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(results_write,),
            preexec_fn=functools.partial(_limit, limits),
            env=_environment(Path(scratch), sandboxed),
            cwd=scratch,
        )
        os.close(results_write)
        try:
            process.stdin.write(
                json.dumps({**job, "nonce": nonce, "results_fd": results_write}).encode()
            )
            process.stdin.close()
        except BrokenPipeError:
            pass
        outcome.stopped = _collect(process, results_read, nonce, limits, outcome)
        _kill(process)
        os.close(results_read)
    return outcome


def _collect(process, results_fd: int, nonce: str, limits: Limits, outcome: Outcome) -> str:
    """Read result lines until the program ends; return why it stopped early ("" if not).

    ``outcome.stopped_in`` is the cell or test that was running when it stopped.
    """
    selector = selectors.DefaultSelector()
    selector.register(results_fd, selectors.EVENT_READ, "results")
    selector.register(process.stdout, selectors.EVENT_READ, "stdout")
    buffer, received, done = b"", 0, False
    deadline = time.monotonic() + limits.seconds_per_test
    while selector.get_map():
        running = f"`{outcome.stopped_in}`" if outcome.stopped_in else "the grader's setup"
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            return f"it was stopped after the time limit of {limits.seconds_per_test:g} s while running {running}"
        for key, _ in selector.select(timeout):
            chunk = os.read(key.fd if key.data == "results" else process.stdout.fileno(), 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            received += len(chunk)
            if received > limits.output_bytes:
                return (
                    f"it printed more than {limits.output_bytes // 1024} KB while running {running}"
                )
            if key.data == "stdout":
                outcome.log = (outcome.log + chunk.decode(errors="replace"))[:LOG_LIMIT]
                continue  # output written past the cells' own capture: counted, kept short
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                event = _event(line, nonce)
                if "begin" in event:
                    outcome.stopped_in = event["begin"]
                    deadline = time.monotonic() + limits.seconds_per_test
                elif "cell" in event and event["cell"] not in outcome.cells:
                    outcome.cells[event["cell"]] = event
                elif "test" in event and event["test"] not in outcome.tests:
                    outcome.tests[event["test"]] = event
                done = done or event.get("done", False)
    code = process.wait()
    running = f"`{outcome.stopped_in}`" if outcome.stopped_in else "the grader's setup"
    if code == 0 and done:
        outcome.stopped_in = ""
        return ""
    if code < 0:
        name = signal.Signals(-code).name
        return f"the interpreter was killed by {name} (memory or CPU time limit?) while running {running}"
    return f"the interpreter exited (code {code}) while running {running}"


def _event(line: bytes, nonce: str) -> dict:
    """A result line of this run, or {} for anything else (a learner's own writes)."""
    try:
        event = json.loads(line)
    except ValueError:
        return {}
    if not isinstance(event, dict) or event.pop("nonce", None) != nonce:
        return {}
    return event


def _stopped_error(reason: str) -> dict:
    """The result of a cell or test that did not finish."""
    return {
        "output": "",
        "error": {"ename": "GradingStopped", "evalue": f"no result: {reason}", "traceback": []},
    }


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _limit(limits: Limits) -> None:
    """In the child, before exec: a new session (killed as a group) and resource limits."""
    os.setsid()
    cpu = int(limits.seconds_per_test * 4) + 10
    for kind, value in [
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_CORE, 0),
    ]:
        resource.setrlimit(kind, (value, value))


RUNNER = Path(runner.__file__)  # a script of the standard library only: no pancake needed
SCRATCH = "/scratch"  # where the scratch folder appears inside the sandbox
ENVIRONMENT = "/environment"  # the grading environment, read-only
RUNNER_INSIDE = "/grader/runner.py"  # and the runner, read-only


def _command(scratch: Path, environment: Path, sandboxed: bool) -> list[str]:
    if not sandboxed:
        return [sys.executable, "-I", str(RUNNER), str(environment)]
    view = [*_bwrap_view(scratch), "--ro-bind", str(environment), ENVIRONMENT]
    view += [*_open_ancestors(Path(RUNNER_INSIDE)), "--ro-bind", str(RUNNER), RUNNER_INSIDE]
    python = [sys.executable, "-I", RUNNER_INSIDE, ENVIRONMENT]
    return [bubblewrap(), *view, *_as_nobody(), *python]


def _bwrap_view(scratch: Path) -> list[str]:
    """bwrap arguments: the system's programs, Python and ``scratch``, no more.

    Run by root, bwrap sets up the view and ``setpriv`` then becomes the unprivileged
    user ``nobody`` (so the process limit holds too); run by anyone else, a user
    namespace maps the grader's user to ``nobody``.
    """
    arguments = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    arguments += ["--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev"]
    if os.geteuid() == 0:
        arguments += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        arguments += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            arguments += ["--ro-bind", top, top]
    prefixes = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parents[1]}
    for folder in sorted(prefixes):
        if not str(folder).startswith("/usr/"):
            arguments += _open_ancestors(folder) + ["--ro-bind", str(folder), str(folder)]
    arguments += ["--bind", str(scratch), SCRATCH, "--chdir", SCRATCH]
    return arguments


def _open_ancestors(folder: Path) -> list[str]:
    """Create ``folder``'s parents in the sandbox traversable (bwrap makes them 0700)."""
    arguments = []
    for parent in reversed(folder.parents[:-1]):
        arguments += ["--perms", "0755", "--dir", str(parent)]
    return arguments


def _as_nobody() -> list[str]:
    """The command prefix that drops root to ``nobody`` inside the sandbox (root only)."""
    if os.geteuid() != 0:
        return []
    ids = [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs"]
    return [shutil.which("setpriv") or "/usr/bin/setpriv", *ids]


def _environment(scratch: Path, sandboxed: bool) -> dict[str, str]:
    """Environment variables: the scratch folder as home, one BLAS thread, no display."""
    home = SCRATCH if sandboxed else str(scratch)
    return {
        "PATH": os.defpath,
        "HOME": home,
        "TMPDIR": home,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": home,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TQDM_DISABLE": "0",
    }
