"""Time one training step of the autograd MLP against the layer-level pancake.nn MLP.

Both are 784-256-128-10 ReLU networks in float32 with the same weights, trained with the
same SGD on batches of 128. The two are timed in alternation (so that a slower stretch of
the machine hits both), and the medians are compared. Then, on the same Tensor MLP, the
cost of a Hessian-vector product (the gradient of gradient·v, ``create_graph=True``)
against one gradient, timed the same way. Run from the repository root:

    python -m benchmarks.autograd_step [--steps 200]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import pancake.autograd as ag
from pancake import nn
from pancake.optim import SGD

SIZES = (784, 256, 128, 10)
BATCH = 128


def tensor_step(model: ag.MLP, optimizer: SGD) -> Callable[[np.ndarray, np.ndarray], None]:
    """One step of the autograd model: forward, loss, backward through the graph, update."""

    def step(x: np.ndarray, labels: np.ndarray) -> None:
        optimizer.zero_grad()
        ag.cross_entropy(model(ag.Tensor(x)), labels).backward()
        optimizer.step()

    return step


def layer_step(model: nn.Sequential, optimizer: SGD) -> Callable[[np.ndarray, np.ndarray], None]:
    """One step of the pancake.nn model: forward, loss, hand-written backward, update."""
    loss_fn = nn.CrossEntropyLoss()

    def step(x: np.ndarray, labels: np.ndarray) -> None:
        optimizer.zero_grad()
        loss_fn(model(x), labels)
        model.backward(loss_fn.backward())
        optimizer.step()

    return step


def twin_models(seed: int) -> tuple[ag.MLP, nn.Sequential]:
    """The autograd MLP and a pancake.nn Sequential holding a copy of its float32 weights."""
    tensor_model = ag.MLP(SIZES, rng=seed, dtype=np.float32)
    modules: list[nn.Module] = []
    for n_in, n_out in zip(SIZES, SIZES[1:], strict=False):
        modules += [nn.Linear(n_in, n_out, dtype=np.float32), nn.ReLU()]
    layer_model = nn.Sequential(*modules[:-1])
    for mine, theirs in zip(tensor_model.parameters(), layer_model.parameters(), strict=True):
        theirs.data[...] = mine.data
    return tensor_model, layer_model


def seconds(step: Callable, x: np.ndarray, labels: np.ndarray) -> float:
    """Wall-clock duration of one call of ``step``."""
    start = time.perf_counter()
    step(x, labels)
    return time.perf_counter() - start


def gradient_and_hvp(model: ag.MLP, seed: int) -> dict[str, Callable]:
    """A gradient of the loss, and a Hessian-vector product, with respect to the weights."""
    params = model.parameters()
    rng = np.random.default_rng(seed)
    directions = [rng.standard_normal(p.shape).astype(p.dtype) for p in params]

    def gradient(x: np.ndarray, labels: np.ndarray) -> None:
        ag.grad(ag.cross_entropy(model(ag.Tensor(x)), labels), params)

    def hessian_vector_product(x: np.ndarray, labels: np.ndarray) -> None:
        loss = ag.cross_entropy(model(ag.Tensor(x)), labels)
        gradients = ag.grad(loss, params, create_graph=True)
        along_v = sum((g * v).sum() for g, v in zip(gradients, directions, strict=True))
        ag.grad(along_v, params)

    return {"gradient": gradient, "Hessian-vector product": hessian_vector_product}


def interleaved_medians(
    steps_by_name: dict[str, Callable], steps: int, rng: np.random.Generator
) -> dict[str, float]:
    """Median seconds of each step, run in alternation on the same random batches."""
    times: dict[str, list[float]] = {name: [] for name in steps_by_name}
    for index in range(steps + 10):
        x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
        labels = rng.integers(0, SIZES[-1], size=BATCH)
        for name, step in steps_by_name.items():
            duration = seconds(step, x, labels)
            if index >= 10:  # the first steps warm up caches and allocations
                times[name].append(duration)
    return {name: float(np.median(values)) for name, values in times.items()}


def report(title: str, medians: dict[str, float], steps: int) -> float:
    """Print the medians and the ratio of the first to the second; return that ratio."""
    print(title)
    for name, median in medians.items():
        print(f"  {name:<26} {1e3 * median:8.3f} ms (median of {steps})")
    (first, slower), (second, faster) = medians.items()
    print(f"  ratio {first} / {second}: {slower / faster:.3f}")
    return slower / faster


def main(steps: int = 200, seed: int = 0) -> dict[str, float]:
    """Time ``steps`` interleaved steps of each; print and return the medians (seconds)."""
    rng = np.random.default_rng(seed)
    tensor_model, layer_model = twin_models(seed)
    steps_by_name = {
        "autograd (Tensor MLP)": tensor_step(tensor_model, SGD(tensor_model.parameters(), lr=0.01)),
        "layer-level (pancake.nn)": layer_step(
            layer_model, SGD(list(layer_model.parameters()), lr=0.01)
        ),
    }
    sizes = "-".join(map(str, SIZES))
    medians = interleaved_medians(steps_by_name, steps, rng)
    report(f"training step, MLP {sizes}, float32, batch {BATCH}, SGD:", medians, steps)
    second_order = interleaved_medians(gradient_and_hvp(tensor_model, seed), steps, rng)
    report(
        "the Tensor MLP's loss, derivatives with respect to its weights:",
        {name: second_order[name] for name in ("Hessian-vector product", "gradient")},
        steps,
    )
    return {**medians, **second_order}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps per model")
    main(parser.parse_args().steps)
