"""Bundled and toy data sets, the IDX reader, MNIST from local files and from a local mirror."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from pancake.datasets import (
    MNIST,
    DownloadError,
    FashionMNIST,
    blobs,
    circles,
    class_sizes,
    load_breast_cancer,
    load_digits,
    read_idx,
    spirals,
    two_moons,
    xor,
)

pytestmark = pytest.mark.ex07

# -- scikit-learn's bundled sets -----------------------------------------------------------------


def test_load_digits_shapes_range_and_labels():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0 and X.max() == 1
    assert y.shape == (1797,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    assert load_digits(dtype=np.float32)[0].dtype == np.float32


def test_load_breast_cancer_is_standardised():
    X, y = load_breast_cancer()
    assert X.shape == (569, 30) and y.shape == (569,)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1)
    assert set(np.unique(y)) == {0, 1}


# -- toy 2-D sets ------------------------------------------------------------------------------

TOY_SETS = [xor, two_moons, circles, spirals, blobs]


@pytest.mark.parametrize("make", TOY_SETS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("n_samples", [7, 200])
def test_toy_sets_have_balanced_classes_and_follow_the_seed(make, n_samples):
    X, y = make(n_samples, seed=3)
    assert X.shape == (n_samples, 2) and X.dtype == np.float64
    assert y.shape == (n_samples,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    X2, y2 = make(n_samples, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(n_samples, seed=4)[0])
    assert not np.array_equal(y[: n_samples // 2], np.sort(y)[: n_samples // 2]), "shuffled"


def test_class_sizes_differ_by_at_most_one():
    assert class_sizes(10, 3) == [4, 3, 3]
    with pytest.raises(ValueError, match="at least 3 samples"):
        class_sizes(2, 3)


def test_xor_labels_points_whose_coordinates_differ_in_sign():
    X, y = xor(400, noise=0.2, seed=0)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))


def test_circles_without_noise_lie_on_two_radii():
    X, y = circles(100, noise=0.0, factor=0.3, seed=0)
    radii = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radii[y == 0], 1.0)
    np.testing.assert_allclose(radii[y == 1], 0.3)


def test_two_moons_without_noise_lie_on_their_arcs():
    X, y = two_moons(100, noise=0.0, seed=0)
    np.testing.assert_allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5), 1.0)
    assert np.all(X[y == 0, 1] >= 0) and np.all(X[y == 1, 1] <= 0.5)


def test_spirals_and_blobs_have_the_requested_number_of_classes():
    assert set(spirals(90, n_classes=3, seed=0)[1]) == {0, 1, 2}
    X, y = blobs(300, n_classes=4, noise=0.1, seed=0)
    assert set(y) == {0, 1, 2, 3}
    centres = np.array([X[y == k].mean(axis=0) for k in range(4)])
    np.testing.assert_allclose(np.hypot(centres[:, 0], centres[:, 1]), 2.0, atol=0.05)


# -- IDX files -----------------------------------------------------------------------------------

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file's bytes, written here independently of pancake's reader."""
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    sizes = struct.pack(f">{array.ndim}I", *array.shape)
    return header + sizes + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float64])
@pytest.mark.parametrize("gzipped", [False, True])
def test_read_idx_round_trips(tmp_path, dtype, gzipped):
    array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    if dtype != np.uint8:
        array = array * 1000 - 5000  # several bytes per value, and negative ones
    path = tmp_path / ("a.idx.gz" if gzipped else "a.idx")
    path.write_bytes(gzip.compress(idx_bytes(array)) if gzipped else idx_bytes(array))
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_read_idx_rejects_other_files(tmp_path):
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "text")
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros((3, 3), dtype=np.uint8))[:-2])
    with pytest.raises(ValueError, match="needs 21 bytes, the file has 19"):
        read_idx(tmp_path / "short")
    (tmp_path / "header").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match="header"):
        read_idx(tmp_path / "header")


# -- MNIST from a folder and from a mirror --------------------------------------------------------


def fake_mnist_files(count: int, seed: int) -> dict[str, bytes]:
    """Small gzipped IDX files with MNIST's names: ``count`` random 28x28 images per split."""
    rng = np.random.default_rng(seed)
    files = {}
    for prefix in ("train", "t10k"):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(idx_bytes(images))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(labels))
    return files


def md5s(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.md5(content).hexdigest() for name, content in files.items()}


def write_files(folder: Path, files: dict[str, bytes], gunzip: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if gunzip:
            (folder / name.removesuffix(".gz")).write_bytes(gzip.decompress(content))
        else:
            (folder / name).write_bytes(content)


@pytest.mark.parametrize("gunzip", [False, True])
def test_mnist_reads_local_files(tmp_path, gunzip):
    files = fake_mnist_files(5, seed=0)
    write_files(tmp_path / "MNIST", files, gunzip)
    train = MNIST(tmp_path)
    expected = read_idx_bytes(files["train-images-idx3-ubyte.gz"])
    assert train.images.shape == (5, 784) and train.images.dtype == np.float32
    np.testing.assert_allclose(train.images, expected.reshape(5, 784) / 255, rtol=1e-6)
    np.testing.assert_array_equal(train.labels, read_idx_bytes(files["train-labels-idx1-ubyte.gz"]))
    x, label = train[2]
    assert x.shape == (784,) and label == train.labels[2]
    test = MNIST(tmp_path, train=False, flatten=False, dtype=np.float64)
    assert test.images.shape == (5, 28, 28) and test.images.dtype == np.float64
    assert "5 images" in repr(test)


def read_idx_bytes(content: bytes) -> np.ndarray:
    raw = gzip.decompress(content)
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim :], dtype=np.uint8).reshape(shape)


def test_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"download=True, or put the file in .*MNIST"):
        MNIST(tmp_path)
    with pytest.raises(FileNotFoundError, match="FashionMNIST"):
        FashionMNIST(tmp_path, train=False)


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server on 127.0.0.1 serving fake MNIST files; yields (base URL, files, log)."""
    files = fake_mnist_files(4, seed=1)
    served = tmp_path / "served"
    write_files(served, files)
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", files, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_download_fetches_verifies_and_caches(tmp_path, mirror):
    url, files, requests = mirror
    cache = tmp_path / "cache"
    train = MNIST(cache, download=True, mirror=url, checksums=md5s(files))
    assert len(train) == 4 and len(requests) == 2
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert (cache / "MNIST" / name).read_bytes() == files[name]
    assert not list((cache / "MNIST").glob("*.part"))
    MNIST(cache, download=True, mirror=url, checksums=md5s(files))
    assert len(requests) == 2, "files already in the cache are not downloaded again"
    test = FashionMNIST(
        cache, train=False, download=True, mirror=url.rstrip("/"), checksums=md5s(files)
    )
    assert len(test) == 4 and (cache / "FashionMNIST" / "t10k-images-idx3-ubyte.gz").exists()


def test_download_with_a_wrong_checksum_keeps_nothing(tmp_path, mirror):
    url, files, _ = mirror
    wrong = {**md5s(files), "train-images-idx3-ubyte.gz": "0" * 32}
    with pytest.raises(DownloadError, match=r"checksum mismatch for http://127\.0\.0\.1.*0{32}"):
        MNIST(tmp_path, download=True, mirror=url, checksums=wrong)
    assert not list((tmp_path / "MNIST").iterdir())


def test_download_checks_the_official_checksums_by_default(tmp_path, mirror):
    url, _, _ = mirror
    with pytest.raises(DownloadError, match="f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        MNIST(tmp_path, download=True, mirror=url)


def test_download_of_a_missing_file_is_explained(tmp_path, mirror):
    url, _, _ = mirror
    with pytest.raises(DownloadError, match="404"):
        MNIST(tmp_path, download=True, mirror=url + "nowhere/", checksums={})


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_offline_download_names_the_url_and_the_manual_way(tmp_path):
    url = f"http://127.0.0.1:{unused_port()}/mnist/"
    with pytest.raises(DownloadError) as failure:
        MNIST(tmp_path, download=True, mirror=url)
    message = str(failure.value)
    assert f"{url}train-images-idx3-ubyte.gz" in message
    assert f"put it in {tmp_path / 'MNIST'}" in message
    assert not list((tmp_path / "MNIST").iterdir())
