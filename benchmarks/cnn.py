"""Time one SGD training step of a LeNet-like CNN in float32: pancake against PyTorch eager.

The model: Conv2d(1, 16, 5, padding=2), ReLU, MaxPool2d(2), Conv2d(16, 32, 5, padding=2),
ReLU, MaxPool2d(2), Flatten, Linear(1568, 10), cross-entropy, on a (64, 1, 28, 28) batch.
Each implementation runs in a process of its own with its library's default threading
(so that torch's OpenMP threads never compete with NumPy's BLAS threads), or with
``--threads N`` threads each, and the processes alternate, pancake then torch, for
``--rounds`` rounds: the ratio of each pair is reported, and their median. Each process
reports the median wall-clock time of a step and its mean CPU time (all threads): on a
busy machine the wall clock of a multi-threaded step is mostly waiting for a core, and
with one thread the CPU time is the steadier measure; each round also prints the
machine's one-minute load average, to tell a quiet round from a busy one. Peak memory of
a pancake step is measured with tracemalloc (NumPy reports its allocations to it). Run
from the repository root:

    python -m benchmarks.cnn [--rounds 5] [--steps 20] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

BATCH_SHAPE = (64, 1, 28, 28)
LEARNING_RATE = 0.01
Step = Callable[[], None]


def random_batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(64, 1, 28, 28)`` in float32 and labels ``(64,)`` in 0..9."""
    rng = np.random.default_rng(seed)
    return rng.random(BATCH_SHAPE, dtype=np.float32), rng.integers(0, 10, BATCH_SHAPE[0])


def pancake_step(x: np.ndarray, labels: np.ndarray) -> Step:
    """A training step of the LeNet-like pancake model with pancake.optim.SGD."""
    from pancake import nn
    from pancake.optim import SGD

    dtype = np.float32
    model = nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2, rng=0, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2, rng=1, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10, rng=2, dtype=dtype),
    )
    model.needs_input_grad = False  # as fit does: its input is data, as in torch
    loss_fn = nn.CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=LEARNING_RATE)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), labels)
        model.backward(loss_fn.backward())
        optimizer.step()

    return step


def torch_step(x: np.ndarray, labels: np.ndarray) -> Step:
    """The same step in PyTorch (CPU, eager, default threading)."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, padding=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5, padding=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 7 * 7, 10),
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(labels)

    def step() -> None:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        loss.item()

    return step


def time_steps(step: Step, steps: int) -> tuple[float, float]:
    """(median wall-clock seconds, mean CPU seconds) per step, after two warm-up steps."""
    step()
    step()
    times = []
    cpu_start = time.process_time()
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), (time.process_time() - cpu_start) / steps


def peak_step_memory(step: Step) -> int:
    """Peak bytes allocated by one step beyond what was allocated before it (tracemalloc)."""
    step()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - before


def measure(implementation: str, steps: int) -> dict[str, float]:
    """Time (and, for pancake, trace the memory of) one implementation in this process."""
    x, labels = random_batch()
    step = pancake_step(x, labels) if implementation == "pancake" else torch_step(x, labels)
    seconds, cpu_seconds = time_steps(step, steps)
    result = {"seconds": seconds, "cpu_seconds": cpu_seconds}
    if implementation == "pancake":
        result["peak_bytes"] = peak_step_memory(step)
    return result


def run_in_subprocess(implementation: str, steps: int, threads: int | None) -> dict[str, float]:
    """``measure`` in a fresh Python process; its result comes back as JSON on stdout.

    ``threads`` None keeps each library's default threading; a number caps BLAS, OpenMP
    and torch threads (the variables are read when the libraries load).
    """
    environment = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        environment.pop(name, None)
        if threads is not None:
            environment[name] = str(threads)
    command = [sys.executable, "-m", "benchmarks.cnn", "--only", implementation]
    output = subprocess.run(
        [*command, "--steps", str(steps)],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
    ).stdout
    return json.loads(output.splitlines()[-1])


def spread(ratios: list[float]) -> str:
    """``"1.53 (1.30-1.73)"``: the median of the paired ratios, then the lowest and highest."""
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def main(rounds: int = 5, steps: int = 20, threads: int | None = None) -> None:
    """Alternate pancake and torch processes; print the times, ratios and pancake's peak memory."""
    threading = "default threading" if threads is None else f"{threads} thread(s)"
    print(f"one SGD step of a LeNet-like CNN on a {BATCH_SHAPE} float32 batch, {threading}")
    print(
        f"{'round':>6}{'pancake ms':>12}{'torch ms':>10}{'ratio':>8}"
        f"{'pancake cpu ms':>16}{'torch cpu ms':>14}{'cpu ratio':>11}{'load':>7}"
    )
    ratios, cpu_ratios, peaks = [], [], []
    for round_number in range(1, rounds + 1):
        ours = run_in_subprocess("pancake", steps, threads)
        theirs = run_in_subprocess("torch", steps, threads)
        ratios.append(ours["seconds"] / theirs["seconds"])
        cpu_ratios.append(ours["cpu_seconds"] / theirs["cpu_seconds"])
        peaks.append(ours["peak_bytes"])
        print(
            f"{round_number:>6}{1e3 * ours['seconds']:12.2f}{1e3 * theirs['seconds']:10.2f}"
            f"{ratios[-1]:8.2f}{1e3 * ours['cpu_seconds']:16.2f}"
            f"{1e3 * theirs['cpu_seconds']:14.2f}{cpu_ratios[-1]:11.2f}{os.getloadavg()[0]:7.2f}"
        )
    print(f"median pancake/torch: {spread(ratios)} wall clock, {spread(cpu_ratios)} CPU time")
    print(f"pancake peak memory of a step (tracemalloc): {max(peaks) / 2**20:.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="pairs of processes (default 5)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per process")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per library (default: its own)"
    )
    parser.add_argument("--only", choices=["pancake", "torch"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.only:
        print(json.dumps(measure(arguments.only, arguments.steps)))
    else:
        main(arguments.rounds, arguments.steps, arguments.threads)
