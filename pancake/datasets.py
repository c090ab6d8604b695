"""Data sets: small ones bundled with scikit-learn, toy 2-D problems, and MNIST from IDX files.

Every loader returns ``(X, y)``: float inputs ``(n_samples, n_features)`` and integer
labels ``(n_samples,)``. ``MNIST`` and ``FashionMNIST`` are ``ArrayDataset``s.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import shutil
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from pancake import init
from pancake.data import ArrayDataset

# -- scikit-learn's bundled data sets (no download) ------------------------------------------


def load_digits(*, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8x8 digits: pixels ``(1797, 64)`` scaled to [0, 1], labels ``(1797,)`` in 0..9."""
    from sklearn.datasets import load_digits as sklearn_digits

    pixels, labels = sklearn_digits(return_X_y=True)
    return (pixels / 16).astype(dtype), labels.astype(np.int64)


def load_breast_cancer(*, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The Wisconsin breast cancer data: 30 standardised features ``(569, 30)``, labels ``(569,)``.

    Each feature is shifted and scaled to mean 0 and standard deviation 1 over the whole
    set; label 0 is malignant, 1 benign.
    """
    from sklearn.datasets import load_breast_cancer as sklearn_breast_cancer

    features, labels = sklearn_breast_cancer(return_X_y=True)
    standardised = (features - features.mean(axis=0)) / features.std(axis=0)
    return standardised.astype(dtype), labels.astype(np.int64)


# -- toy 2-D problems: (X (n_samples, 2), y (n_samples,)), classes as equal as possible ---------


def class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """Split ``n_samples`` into ``n_classes`` sizes that differ by at most one."""
    if n_samples < n_classes:
        raise ValueError(
            f"need at least {n_classes} samples for {n_classes} classes, got {n_samples}"
        )
    return [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]


def _shuffled(parts: list[np.ndarray], noise: float, rng: np.random.Generator):
    """Stack the points of each class, add N(0, noise²) noise, and shuffle: (X, y)."""
    points = np.concatenate(parts)
    labels = np.concatenate([np.full(len(part), k, dtype=np.int64) for k, part in enumerate(parts)])
    points = points + noise * rng.standard_normal(points.shape)
    order = rng.permutation(len(points))
    return points[order], labels[order]


def xor(n_samples: int = 200, *, noise: float = 0.2, seed: init.Seed = None):
    """Points around the corners (±1, ±1), labelled 1 where the signs differ: ``(n, 2), (n,)``."""
    rng = init.as_generator(seed)
    # Going round the square, so that the two classes get sizes that differ by at most one.
    corners = np.array([[-1, -1], [-1, 1], [1, 1], [1, -1]], dtype=np.float64)
    per_corner = class_sizes(n_samples, 4)
    same_sign = np.repeat(corners[0::2], per_corner[0::2], axis=0)
    other_sign = np.repeat(corners[1::2], per_corner[1::2], axis=0)
    return _shuffled([same_sign, other_sign], noise, rng)


def two_moons(n_samples: int = 200, *, noise: float = 0.1, seed: init.Seed = None):
    """Two interleaving half circles: the upper one is class 0, ``(n, 2), (n,)``."""
    rng = init.as_generator(seed)
    upper, lower = (np.linspace(0, math.pi, size) for size in class_sizes(n_samples, 2))
    parts = [
        np.stack([np.cos(upper), np.sin(upper)], axis=1),
        np.stack([1 - np.cos(lower), 0.5 - np.sin(lower)], axis=1),
    ]
    return _shuffled(parts, noise, rng)


def circles(
    n_samples: int = 200, *, noise: float = 0.05, factor: float = 0.5, seed: init.Seed = None
):
    """A circle of radius 1 (class 0) around one of radius ``factor`` (class 1): ``(n, 2), (n,)``."""
    rng = init.as_generator(seed)
    parts = []
    for radius, size in zip((1.0, factor), class_sizes(n_samples, 2), strict=True):
        angle = np.linspace(0, 2 * math.pi, size, endpoint=False)
        parts.append(radius * np.stack([np.cos(angle), np.sin(angle)], axis=1))
    return _shuffled(parts, noise, rng)


def spirals(
    n_samples: int = 300, *, n_classes: int = 2, noise: float = 0.03, seed: init.Seed = None
):
    """Interleaved spiral arms of 1.5 turns, one per class: ``(n, 2), (n,)``."""
    rng = init.as_generator(seed)
    parts = []
    for k, size in enumerate(class_sizes(n_samples, n_classes)):
        radius = np.linspace(0.05, 1, size)
        angle = 2 * math.pi * k / n_classes + 3 * math.pi * radius
        parts.append(radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1))
    return _shuffled(parts, noise, rng)


def blobs(n_samples: int = 200, *, n_classes: int = 3, noise: float = 0.5, seed: init.Seed = None):
    """Gaussian clouds of standard deviation ``noise`` around centres on a circle of radius 2."""
    rng = init.as_generator(seed)
    angles = 2 * math.pi * np.arange(n_classes) / n_classes + math.pi / 2
    centres = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    sizes = class_sizes(n_samples, n_classes)
    parts = [
        np.repeat(centre[None], size, axis=0) for centre, size in zip(centres, sizes, strict=True)
    ]
    return _shuffled(parts, noise, rng)


# -- IDX files and MNIST ----------------------------------------------------------------------

IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw), the format of MNIST: an array of the stored shape.

    Header: two zero bytes, a dtype code, the number of axes, then each size as a
    big-endian uint32; then the values, big-endian.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        raw = file.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file: its header starts with {raw[:4]!r}")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: the IDX header announces {ndim} axes but the file ends first")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = header_size + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path}: an IDX array of shape {shape} needs {expected} bytes, the file has {len(raw)}"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


class DownloadError(OSError):
    """A data file could not be downloaded, or did not match its checksum."""


def md5_of(path: Path) -> str:
    """The MD5 hex digest of a file (an integrity check, not a security one)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, destination: Path, md5: str | None = None, timeout: float = 30) -> None:
    """Fetch ``url`` into ``destination``, checking its MD5 if given; DownloadError otherwise.

    The file is written next to the destination first and renamed once verified, so an
    interrupted download never leaves a broken file behind.
    """
    partial = destination.with_name(destination.name + ".part")
    manual = (
        f"download {url} by other means and put it in {destination.parent} "
        "(gzipped or not), then try again"
    )
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as file:
            shutil.copyfileobj(response, file)
    except (OSError, http.client.HTTPException) as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"could not download {url}: {error}. If this machine is offline, {manual}."
        ) from error
    digest = md5_of(partial)
    if md5 is not None and digest != md5:
        partial.unlink()
        raise DownloadError(
            f"checksum mismatch for {url}: its MD5 is {digest}, expected {md5}; the mirror "
            f"may serve another version. Try another mirror=, or {manual}."
        )
    partial.replace(destination)


class MNIST(ArrayDataset):
    """MNIST handwritten digits from IDX files: images ``(n, 784)`` in [0, 1], labels ``(n,)``.

    Reads ``root/MNIST/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` (or the same
    files ungzipped): 60 000 training or (``train=False``) 10 000 test images. With
    ``download=True`` missing files are fetched from ``mirror`` and checked against
    ``checksums`` (file name -> MD5; None means the official table; names missing from
    the table are not checked). ``flatten=False`` keeps images ``(n, 28, 28)``.
    """

    folder = "MNIST"
    default_mirror = "https://ossci-datasets.s3.amazonaws.com/mnist/"
    official_md5 = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    classes = [str(digit) for digit in range(10)]

    def __init__(
        self,
        root: str | Path,
        train: bool = True,
        download: bool = False,
        *,
        mirror: str | None = None,
        checksums: Mapping[str, str] | None = None,
        flatten: bool = True,
        dtype=np.float32,
    ):
        self.directory = Path(root).expanduser() / self.folder
        prefix = "train" if train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz")
        if download:
            self.download_missing(names, mirror or self.default_mirror, checksums)
        images, labels = (self.read(name) for name in names)
        images = images.astype(dtype) / 255
        super().__init__(
            images.reshape(len(images), -1) if flatten else images, labels.astype(np.int64)
        )

    @property
    def images(self) -> np.ndarray:
        """The images, ``(n, 784)`` or ``(n, 28, 28)``, scaled to [0, 1]."""
        return self.arrays[0]

    @property
    def labels(self) -> np.ndarray:
        """The class of each image, ``(n,)``."""
        return self.arrays[1]

    def local_file(self, name: str) -> Path | None:
        """The path of file ``name`` in the data folder, gzipped or not; None if absent."""
        for candidate in (self.directory / name, self.directory / name.removesuffix(".gz")):
            if candidate.exists():
                return candidate
        return None

    def read(self, name: str) -> np.ndarray:
        """The array stored in file ``name``; a FileNotFoundError saying what to do if absent."""
        path = self.local_file(name)
        if path is None:
            raise FileNotFoundError(
                f"{type(self).__name__}: {self.directory / name} not found (nor ungzipped). "
                f"Pass download=True, or put the file in {self.directory} by hand."
            )
        return read_idx(path)

    def download_missing(self, names, mirror: str, checksums: Mapping[str, str] | None) -> None:
        """Download the files of ``names`` that are not in the data folder yet."""
        table = self.official_md5 if checksums is None else checksums
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in names:
            if self.local_file(name) is None:
                download_file(
                    mirror.rstrip("/") + "/" + name, self.directory / name, table.get(name)
                )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images of shape {self.images.shape[1:]})"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing instead of digits."""

    folder = "FashionMNIST"
    default_mirror = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    official_md5 = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
