"""Train a 64-256-10 ReLU MLP on scikit-learn's 8x8 digits with ``fit`` and ``Adam``.

1400 images to train on, 397 held out (``train_test_split`` with a fixed seed); prints the
test accuracy and the time taken. Run from the repository root:

    python -m benchmarks.digits [--seed 0] [--epochs 40] [--progress]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pancake.data import ArrayDataset, DataLoader, Normalize, train_test_split
from pancake.datasets import load_digits
from pancake.nn import CrossEntropyLoss, Linear, ReLU, Sequential
from pancake.optim import Adam
from pancake.train import evaluate, fit


def main(seed: int = 0, epochs: int = 40, progress: bool = False) -> dict[str, float]:
    """Train, evaluate on the held-out images, print and return accuracy and seconds."""
    start = time.perf_counter()
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=397, rng=seed)
    # Centre each pixel and scale by the overall spread, measured on the training images only.
    normalize = Normalize(X_train.mean(axis=0), X_train.std())
    train = DataLoader(
        ArrayDataset(X_train, y_train), 32, shuffle=True, rng=seed, transform=normalize
    )
    test = DataLoader(ArrayDataset(X_test, y_test), 256, transform=normalize)
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(64, 256, rng=rng), ReLU(), Linear(256, 10, rng=rng))
    loaded = time.perf_counter()
    fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=1e-3),
        train,
        epochs=epochs,
        progress=progress,
    )
    trained = time.perf_counter()
    accuracy = evaluate(model, CrossEntropyLoss(), test)["accuracy"]
    print(
        f"digits, {len(X_train)} train / {len(X_test)} test, {epochs} epochs of fit + Adam: "
        f"test accuracy {accuracy:.2%}; training {trained - loaded:.2f} s, "
        f"total with data loading {time.perf_counter() - start:.2f} s"
    )
    return {
        "accuracy": accuracy,
        "train_seconds": trained - loaded,
        "total_seconds": time.perf_counter() - start,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--progress", action="store_true", help="show the progress bars")
    arguments = parser.parse_args()
    main(arguments.seed, arguments.epochs, arguments.progress)
