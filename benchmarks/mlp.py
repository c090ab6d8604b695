"""Time an epoch of training a 784-256-128-10 ReLU MLP in float32: pancake, NumPy, PyTorch.

An epoch is 1024 random samples in shuffled mini-batches; each step is forward, softmax
cross-entropy, backward and an SGD update. Each implementation is what its user writes:

- **pancake**: ``Sequential(Linear, ReLU, Linear, ReLU, Linear)`` trained with
  ``pancake.train.fit`` (one epoch, no progress bar, no metrics), as the book does;
- **numpy**: the same epoch written by hand, no framework (the baseline);
- **torch**: ``torch.nn`` and ``torch.optim.SGD``, CPU, eager, in a process of its own
  with torch's default threading, batches sliced from in-memory tensors.

Each round times pancake and NumPy in this process, their epochs alternating, then torch
in a fresh process of its own, which exits before the next round (torch's idle threads
busy-wait for a while, and would slow whatever ran next). The ratios are paired: each
round's pancake time over the NumPy and torch times of the same round, and the table shows
their medians and, in parentheses, the lowest and highest round. Run from the repository
root:

    python -m benchmarks.mlp [--rounds 7] [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_info

from pancake import nn
from pancake.data import ArrayDataset, DataLoader
from pancake.optim import SGD
from pancake.train import fit

SIZES = (784, 256, 128, 10)
BATCH_SIZES = (32, 128, 512)
SAMPLES = 1024
LEARNING_RATE = 0.01
PAUSE = 0.5  # seconds for idle BLAS/OpenMP threads to stop spinning between phases
Epoch = Callable[[], None]


def dataset(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(1024, 784)`` in float32 and labels ``(1024,)`` in 0..9."""
    rng = np.random.default_rng(seed)
    return rng.random((SAMPLES, SIZES[0]), dtype=np.float32), rng.integers(0, 10, SAMPLES)


def initial_weights(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight ``(in, out)``, bias ``(out,)``) per layer, float32, shared by all implementations."""
    rng = np.random.default_rng((seed, 1))
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        bound = 1 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
        layers.append((weight, rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


def pancake_epoch(weights, x: np.ndarray, labels: np.ndarray, batch_size: int) -> Epoch:
    """One epoch of ``fit`` on a pancake.nn Sequential with pancake.optim.SGD."""
    modules: list[nn.Module] = []
    for weight, bias in weights:
        linear = nn.Linear(*weight.shape, dtype=np.float32)
        linear.weight.data[...], linear.bias.data[...] = weight, bias
        modules += [linear, nn.ReLU()]
    model = nn.Sequential(*modules[:-1])
    loss_fn = nn.CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=LEARNING_RATE)
    loader = DataLoader(ArrayDataset(x, labels), batch_size=batch_size, shuffle=True, rng=0)

    def epoch() -> None:
        fit(model, loss_fn, optimizer, loader, epochs=1, metrics=(), progress=False)

    return epoch


def numpy_epoch(weights, x: np.ndarray, labels: np.ndarray, batch_size: int) -> Epoch:
    """The same epoch written by hand in NumPy: the baseline, with no framework around it."""
    (w1, b1), (w2, b2), (w3, b3) = [(w.copy(), b.copy()) for w, b in weights]
    rng = np.random.default_rng(0)

    def step(xb: np.ndarray, yb: np.ndarray) -> float:
        rows = np.arange(len(xb))
        h1 = xb @ w1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2 + b2
        a2 = np.maximum(h2, 0)
        logits = a2 @ w3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = float(-np.mean(np.log(probs[rows, yb])))
        g3 = probs
        g3[rows, yb] -= 1
        g3 /= len(xb)
        g2 = (g3 @ w3.T) * (h2 > 0)
        g1 = (g2 @ w2.T) * (h1 > 0)
        for param, grad in (
            (w3, a2.T @ g3),
            (b3, g3.sum(axis=0)),
            (w2, a1.T @ g2),
            (b2, g2.sum(axis=0)),
            (w1, xb.T @ g1),
            (b1, g1.sum(axis=0)),
        ):
            param -= LEARNING_RATE * grad
        return loss

    def epoch() -> None:
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            step(x[batch], labels[batch])

    return epoch


def torch_epoch(weights, x: np.ndarray, labels: np.ndarray, batch_size: int) -> Epoch:
    """The same epoch in PyTorch (CPU, eager), as a torch user writes it for in-memory data."""
    import torch

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
    generator = torch.Generator().manual_seed(0)

    def epoch() -> None:
        for batch in torch.randperm(len(inputs), generator=generator).split(batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
            loss.item()

    return epoch


def seconds(epoch: Epoch) -> float:
    start = time.perf_counter()
    epoch()
    return time.perf_counter() - start


def median_epoch(epoch: Epoch, epochs: int) -> float:
    """The median of ``epochs`` timed epochs, after one untimed (first-call allocations)."""
    epoch()
    return statistics.median(seconds(epoch) for _ in range(epochs))


def paired_epochs(implementations: dict[str, Epoch], epochs: int) -> dict[str, float]:
    """Median seconds per epoch of each implementation, their epochs alternating (one
    untimed first): a burst of load on a shared machine slows both sides of a pair."""
    for epoch in implementations.values():
        epoch()
    times: dict[str, list[float]] = {name: [] for name in implementations}
    for _ in range(epochs):
        for name, epoch in implementations.items():
            times[name].append(seconds(epoch))
    return {name: statistics.median(values) for name, values in times.items()}


def torch_worker(seed: int, epochs: int) -> None:
    """Print ``{batch_size: seconds}`` as JSON: torch's median epochs (``--torch``)."""
    x, labels = dataset(seed)
    weights = initial_weights(seed)
    medians = {
        batch_size: median_epoch(torch_epoch(weights, x, labels, batch_size), epochs)
        for batch_size in BATCH_SIZES
    }
    print(json.dumps(medians))


def torch_round(seed: int, epochs: int) -> dict[int, float]:
    """One round of torch timings in a fresh process, which exits (threads and all) after."""
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.mlp", "--torch", "--seed", str(seed)]
        + ["--epochs", str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {int(batch_size): value for batch_size, value in json.loads(output).items()}


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def measure(rounds: int, epochs: int, seed: int) -> dict[int, dict[str, list[float]]]:
    """Median seconds per epoch, per round, batch size and implementation.

    Each round times pancake and NumPy here, epoch by epoch, then torch in a process of its
    own; a pause between phases lets idle threads stop spinning.
    """
    x, labels = dataset(seed)
    weights = initial_weights(seed)
    ours = {
        batch_size: {
            "numpy": numpy_epoch(weights, x, labels, batch_size),
            "pancake": pancake_epoch(weights, x, labels, batch_size),
        }
        for batch_size in BATCH_SIZES
    }
    with_torch = torch_available()
    times = {batch_size: {"numpy": [], "pancake": [], "torch": []} for batch_size in BATCH_SIZES}
    for _ in range(rounds):
        for batch_size, implementations in ours.items():
            for name, value in paired_epochs(implementations, epochs).items():
                times[batch_size][name].append(value)
        if with_torch:
            time.sleep(PAUSE)
            for batch_size, value in torch_round(seed, epochs).items():
                times[batch_size]["torch"].append(value)
            time.sleep(PAUSE)
    return {
        batch_size: {name: values for name, values in by_name.items() if values}
        for batch_size, by_name in times.items()
    }


def paired_ratios(times: dict[str, list[float]], a: str, b: str) -> list[float]:
    """time(a) / time(b) of each round, sorted (empty if b was not measured)."""
    if b not in times:
        return []
    return sorted(x / y for x, y in zip(times[a], times[b], strict=True))


def blas_threads() -> int:
    """The number of threads NumPy's BLAS uses."""
    return max(
        (pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1
    )


def print_table(results: dict[int, dict[str, list[float]]]) -> None:
    """Milliseconds per step (median) and the paired ratios: median (lowest-highest round)."""
    print(
        f"training a {'-'.join(map(str, SIZES))} ReLU MLP, float32, {SAMPLES} samples an epoch; "
        f"NumPy BLAS threads: {blas_threads()}; torch: its default threads, own process"
    )
    columns = ("pancake", "numpy", "torch")
    ratios = (("pancake", "numpy"), ("pancake", "torch"))
    print(
        f"{'batch':>6}"
        + "".join(f"{name + ' ms/step':>16}" for name in columns)
        + "".join(f"{a + '/' + b:>18}" for a, b in ratios)
    )
    for batch_size, times in results.items():
        steps = -(-SAMPLES // batch_size)
        cells = [
            f"{1e3 * statistics.median(times[name]) / steps:16.3f}"
            if name in times
            else f"{'-':>16}"
            for name in columns
        ]
        for a, b in ratios:
            values = paired_ratios(times, a, b)
            cells.append(
                f"{statistics.median(values):6.2f} ({values[0]:.2f}-{values[-1]:.2f})"
                if values
                else f"{'-':>18}"
            )
        print(f"{batch_size:>6}" + "".join(cells))


def main(rounds: int = 7, epochs: int = 5, seed: int = 0) -> dict[int, dict[str, list[float]]]:
    """Print (and return) the epoch times per batch size and implementation, in seconds."""
    if not torch_available():
        print("torch is not installed: timing pancake and NumPy only")
    results = measure(rounds, epochs, seed)
    print_table(results)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds (default 7)")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs a round (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.torch:
        torch_worker(arguments.seed, arguments.epochs)
    else:
        main(arguments.rounds, arguments.epochs, arguments.seed)
