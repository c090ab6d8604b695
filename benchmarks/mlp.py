"""Time one training step of a 784-256-128-10 ReLU MLP in float32: pancake, NumPy, PyTorch.

A step is forward, softmax cross-entropy, backward and an SGD update, on a random batch.
The three implementations run interleaved in one process (so that a slow stretch of the
machine hits all of them), with the same number of BLAS threads; the table shows medians.
Run from the repository root:

    python -m benchmarks.mlp [--repeats 30] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from pancake import nn
from pancake.optim import SGD

# torch's OpenMP threads otherwise spin for a while after each operation, taking the cores
# from the step that runs next in the interleaving (measured: pancake/numpy 2.2 instead of
# 1.2 at batch 128 with 2 threads). Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SIZES = (784, 256, 128, 10)
BATCH_SIZES = (32, 128, 512)
LEARNING_RATE = 0.01
Step = Callable[[], None]


def random_batch(batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(batch, 784)`` in float32 and labels ``(batch,)`` in 0..9."""
    return rng.random((batch_size, SIZES[0]), dtype=np.float32), rng.integers(0, 10, batch_size)


def initial_weights(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight ``(in, out)``, bias ``(out,)``) per layer, float32, shared by all implementations."""
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        bound = 1 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
        layers.append((weight, rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


def pancake_step(weights, x: np.ndarray, labels: np.ndarray) -> Step:
    """A training step of a pancake.nn Sequential with pancake.optim.SGD."""
    modules: list[nn.Module] = []
    for weight, bias in weights:
        linear = nn.Linear(*weight.shape, dtype=np.float32)
        linear.weight.data[...], linear.bias.data[...] = weight, bias
        modules += [linear, nn.ReLU()]
    model = nn.Sequential(*modules[:-1])
    model[0].needs_input_grad = False  # its input is data, as in the other two steps
    loss_fn = nn.CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=LEARNING_RATE)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), labels)
        model.backward(loss_fn.backward())
        optimizer.step()

    return step


def numpy_step(weights, x: np.ndarray, labels: np.ndarray, input_grad: bool = False) -> Step:
    """The same step written by hand in NumPy, with no framework around it.

    Hand-written code skips the gradient with respect to the inputs, which no one needs;
    ``input_grad=True`` computes it too, as a layer-level ``backward`` does unless the
    first layer is told ``needs_input_grad = False``.
    """
    (w1, b1), (w2, b2), (w3, b3) = [(w.copy(), b.copy()) for w, b in weights]
    rows = np.arange(len(x))

    def step() -> None:
        h1 = x @ w1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2 + b2
        a2 = np.maximum(h2, 0)
        logits = a2 @ w3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        float(-np.mean(np.log(probs[rows, labels])))  # the loss, as a training loop would read it
        g3 = probs
        g3[rows, labels] -= 1
        g3 /= len(x)
        g2 = (g3 @ w3.T) * (h2 > 0)
        g1 = (g2 @ w2.T) * (h1 > 0)
        if input_grad:
            g1 @ w1.T
        for param, grad in (
            (w3, a2.T @ g3),
            (b3, g3.sum(axis=0)),
            (w2, a1.T @ g2),
            (b2, g2.sum(axis=0)),
            (w1, x.T @ g1),
            (b1, g1.sum(axis=0)),
        ):
            param -= LEARNING_RATE * grad

    return step


def torch_step(weights, x: np.ndarray, labels: np.ndarray) -> Step | None:
    """The same step in PyTorch (CPU, eager), or None if torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    layers: list[torch.nn.Module] = []
    for weight, bias in weights:
        linear = torch.nn.Linear(*weight.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight.T.copy()))
            linear.bias.copy_(torch.from_numpy(bias))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
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


def median_seconds(steps: dict[str, Step], repeats: int, calls: int) -> dict[str, float]:
    """Median time per step of each implementation, timed ``calls`` steps at a time, interleaved."""
    for step in steps.values():
        step()  # warm-up: first-call allocations, lazy initialisation
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(calls):
                step()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def blas_threads() -> int:
    """The number of threads NumPy's BLAS uses."""
    return max(
        (pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1
    )


def main(
    repeats: int = 30, threads: int | None = None, seed: int = 0
) -> dict[int, dict[str, float]]:
    """Print (and return) the median step time per batch size and implementation, in seconds."""
    threads = threads or blas_threads()
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        print("torch is not installed: timing pancake and NumPy only")
    rng = np.random.default_rng(seed)
    weights = initial_weights(rng)
    results = {}
    with threadpool_limits(limits=threads, user_api="blas"):
        for batch_size in BATCH_SIZES:
            x, labels = random_batch(batch_size, rng)
            steps = {
                "pancake": pancake_step(weights, x, labels),
                "numpy": numpy_step(weights, x, labels),
                "numpy+dx": numpy_step(weights, x, labels, input_grad=True),
                "torch": torch_step(weights, x, labels),
            }
            steps = {name: step for name, step in steps.items() if step is not None}
            results[batch_size] = median_seconds(steps, repeats, calls=max(1, 1024 // batch_size))
    print_table(results, threads)
    return results


def print_table(results: dict[int, dict[str, float]], threads: int) -> None:
    """Times in milliseconds and the ratios to hand-written NumPy."""
    print(
        f"one training step of a {'-'.join(map(str, SIZES))} ReLU MLP, float32, {threads} thread(s)"
    )
    columns = ("pancake", "numpy", "numpy+dx", "torch")
    ratios = (("pancake", "numpy"), ("pancake", "numpy+dx"), ("torch", "numpy"))
    print(
        f"{'batch':>6}"
        + "".join(f"{name + ' ms':>13}" for name in columns)
        + "".join(f"{a + '/' + b:>18}" for a, b in ratios)
    )
    for batch_size, times in results.items():
        cells = [
            f"{1e3 * times[name]:13.3f}" if name in times else f"{'-':>13}" for name in columns
        ]
        cells += [f"{times[a] / times[b]:18.2f}" if a in times else f"{'-':>18}" for a, b in ratios]
        print(f"{batch_size:>6}" + "".join(cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=30, help="timings per implementation (default 30)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="BLAS and torch threads (default: NumPy's)"
    )
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(arguments.repeats, arguments.threads, arguments.seed)
