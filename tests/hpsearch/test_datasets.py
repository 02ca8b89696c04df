"""Tests for hpsearch.datasets: loaders, IDX parsing, downloads, splits, scaling."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from hpsearch import datasets
from hpsearch.datasets import (
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    Dataset,
    DownloadError,
    dataset_locations,
    load_dataset,
    mnist,
    read_idx,
    scale_splits,
    split_dataset,
    stratified_subset,
)

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
# Without the files these tests would download Fashion-MNIST (or fail offline): skip instead.
needs_debian_fashion = pytest.mark.skipif(
    not all((DEBIAN_FASHION / f"{name}.gz").is_file() for name in (
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
    reason=f"Fashion-MNIST IDX files absent from {DEBIAN_FASHION} (apt-get install dataset-fashion-mnist)",
)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """Encode ``array`` as IDX (big-endian), independently of the reader under test."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def write(path: Path, content: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(content, mtime=0) if compress else content)
    return path


def write_idx_set(directory: Path, n_train: int = 30, n_test: int = 10, seed: int = 0) -> dict[str, bytes]:
    """Write four small gzipped MNIST-style IDX files; returns their .gz bytes by file name."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for name, array in ((f"{prefix}-images-idx3-ubyte.gz", images), (f"{prefix}-labels-idx1-ubyte.gz", labels)):
            content = gzip.compress(idx_bytes(array), mtime=0)
            (directory / name).write_bytes(content)
            written[name] = content
    return written


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """No HPSEARCH_DATA, a private cache dir and no Debian directory: nothing real is found."""
    monkeypatch.delenv("HPSEARCH_DATA", raising=False)
    monkeypatch.delenv("HPSEARCH_MNIST_URL", raising=False)
    monkeypatch.delenv("HPSEARCH_FASHION_MNIST_URL", raising=False)
    cache_home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    fashion = mnist.SOURCES["fashion-mnist"]
    monkeypatch.setitem(
        mnist.SOURCES,
        "fashion-mnist",
        dataclasses.replace(fashion, system_dirs=(str(tmp_path / "no-debian"),)),
    )
    return cache_home


@pytest.fixture
def http_dir(tmp_path, loopback):
    """Serve a temporary directory on 127.0.0.1; yields (directory, base_url)."""
    root = tmp_path / "served"
    root.mkdir()

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed: connection refused.
    return f"http://127.0.0.1:{port}/"


def make_dataset(counts, n_features=3, seed=0, task="classification") -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    X = rng.normal(size=(len(y), n_features))
    class_names = tuple(f"c{k}" for k in range(len(counts))) if task == "classification" else None
    return Dataset(name="toy", X=X, y=y, task=task, class_names=class_names)


# --------------------------------------------------------------------------
# IDX reading
# --------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize(
    ("code", "dtype"),
    [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_idx_round_trip(tmp_path, compress, code, dtype):
    rng = np.random.default_rng(1)
    array = (rng.normal(size=(5, 4, 3)) * 100).astype(dtype)
    # The name says nothing about compression: the reader must sniff the content.
    path = write(tmp_path / "data.idx", idx_bytes(array, code), compress)
    result = read_idx(path)
    assert result.dtype == dtype and result.dtype.isnative
    np.testing.assert_array_equal(result, array)


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    raw_named_gz = write(tmp_path / "labels.gz", idx_bytes(labels), compress=False)
    gz_named_raw = write(tmp_path / "labels-idx1-ubyte", idx_bytes(labels), compress=True)
    np.testing.assert_array_equal(read_idx(raw_named_gz, expected_magic=IDX_LABELS_MAGIC), labels)
    np.testing.assert_array_equal(read_idx(gz_named_raw, expected_magic=IDX_LABELS_MAGIC), labels)


IMAGES = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize(
    ("content", "expected_magic", "message"),
    [
        (b"\x12\x34" + idx_bytes(IMAGES)[2:], None, "wrong magic number 0x12340803"),
        (idx_bytes(IMAGES), IDX_LABELS_MAGIC, "wrong magic number 0x00000803, expected 0x00000801"),
        (idx_bytes(IMAGES[0, 0]), IDX_IMAGES_MAGIC, "wrong magic number 0x00000801, expected 0x00000803"),
        (b"\x00\x00\x07\x01" + (2).to_bytes(4, "big") + b"ab", None, "unsupported IDX dtype code 0x07"),
        (idx_bytes(IMAGES)[:-1], None, "truncated IDX file: dimensions (2, 3, 3) promise 18 data bytes, found 17"),
        (idx_bytes(IMAGES)[:10], None, "truncated IDX file: header needs 16 bytes"),
        (b"\x00\x00", None, "truncated IDX file: 2 bytes"),
        (idx_bytes(IMAGES) + b"junk", None, "trailing garbage: 4 bytes after the 18 data bytes"),
    ],
    ids=["magic", "labels-expected", "images-expected", "dtype", "truncated-data", "truncated-header", "too-short", "trailing"],
)
def test_idx_errors(tmp_path, compress, content, expected_magic, message):
    path = write(tmp_path / "bad-idx3-ubyte.gz", content, compress)
    with pytest.raises(ValueError) as info:
        read_idx(path, expected_magic=expected_magic)
    text = str(info.value)
    assert message in text
    assert str(path) in text and "\n" not in text


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_idx_corrupt_gzip(tmp_path, damage):
    content = bytearray(gzip.compress(idx_bytes(IMAGES), mtime=0))
    if damage == "truncated":
        content = content[: len(content) // 2]
    else:
        content[-6] ^= 0xFF  # inside the CRC32 trailer
    path = tmp_path / "images.gz"
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="corrupt gzip data") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_images_labels_count_mismatch(tmp_path):
    write_idx_set(tmp_path)
    labels = np.zeros(29, dtype=np.uint8)  # 30 training images
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    with pytest.raises(ValueError, match="has 30 images but .*train-labels-idx1-ubyte.gz has 29 labels"):
        load_dataset("mnist", data_dir=tmp_path)


def test_idx_labels_out_of_range(tmp_path):
    write_idx_set(tmp_path)
    labels = (np.arange(10) % 10).astype(np.uint8)
    labels[4] = 12
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    with pytest.raises(ValueError, match=r"labels out of range: 1 labels outside 0..9, first 12 at index 4"):
        load_dataset("mnist", data_dir=tmp_path)


def test_idx_swapped_files_rejected_by_magic(tmp_path):
    write_idx_set(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    images_bytes, labels_bytes = images.read_bytes(), labels.read_bytes()
    images.write_bytes(labels_bytes)
    labels.write_bytes(images_bytes)
    with pytest.raises(ValueError, match="wrong magic number 0x00000801, expected 0x00000803"):
        load_dataset("mnist", data_dir=tmp_path)


# --------------------------------------------------------------------------
# Built-in loaders and the registry
# --------------------------------------------------------------------------


def test_digits():
    data = load_dataset("digits")
    assert data.X.shape == (1797, 64) and data.X.dtype == np.float32
    assert data.y.shape == (1797,) and data.y.dtype == np.int64
    assert data.X.min() == 0 and data.X.max() == 16
    assert data.class_names == tuple(str(d) for d in range(10))
    assert data.X_test is None and data.y_test is None
    assert set(np.unique(data.y)) == set(range(10))


def test_xor():
    data = load_dataset("xor")
    np.testing.assert_array_equal(data.y, np.logical_xor(data.X[:, 0], data.X[:, 1]).astype(np.int64))
    assert data.X.dtype == np.float32 and data.y.dtype == np.int64


def test_gender_matches_tutorial():
    data = load_dataset("gender")
    # Alice, Bob, Charlie, Diana after the tutorial's shifts (-135 lb, -66 in).
    np.testing.assert_array_equal(data.X, np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=np.float32))
    np.testing.assert_array_equal(data.y, [1, 0, 0, 1])
    assert data.class_names[1] == "female"
    raw = load_dataset("gender", shifted=False)
    np.testing.assert_array_equal(raw.X[0], [133, 65])


def test_synthetic_is_seeded():
    a = load_dataset("synthetic", n_samples=200, n_features=6, n_classes=4, seed=3)
    b = load_dataset("synthetic", n_samples=200, n_features=6, n_classes=4, seed=3)
    c = load_dataset("synthetic", n_samples=200, n_features=6, n_classes=4, seed=4)
    assert a.X.shape == (200, 6) and a.X.dtype == np.float32 and a.y.dtype == np.int64
    assert set(np.unique(a.y)) == {0, 1, 2, 3}
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


def test_regression():
    data = load_dataset("regression", n_samples=50, n_features=3, seed=1)
    assert data.task == "regression" and data.class_names is None
    assert data.X.dtype == np.float32 and data.y.dtype == np.float32 and data.y.shape == (50,)


def test_unknown_name_suggests():
    with pytest.raises(ValueError, match="did you mean 'fashion-mnist'") as info:
        load_dataset("fashion_mnist")
    assert "digits" in str(info.value) and "mnist" in str(info.value)


def test_unknown_option_lists_valid_ones():
    with pytest.raises(ValueError, match="no option 'n_trian'; did you mean 'n_train'"):
        load_dataset("mnist", n_trian=10)


def test_dataset_rejects_non_integer_labels():
    with pytest.raises(ValueError, match="must be integers, found 0.5 at row 1"):
        Dataset(name="bad", X=np.zeros((2, 1)), y=np.array([1.0, 0.5]), task="classification")


# --------------------------------------------------------------------------
# Fashion-MNIST and MNIST files
# --------------------------------------------------------------------------


@needs_debian_fashion
def test_fashion_mnist_from_debian(monkeypatch, tmp_path):
    monkeypatch.delenv("HPSEARCH_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    data = load_dataset("fashion-mnist")
    assert data.source == str(DEBIAN_FASHION)
    assert data.X.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.X.dtype == np.float32 and data.y.dtype == np.int64
    assert len(data.class_names) == 10 and data.class_names[9] == "Ankle boot"
    # Fashion-MNIST is exactly balanced; raw pixels cover 0..255.
    np.testing.assert_array_equal(np.bincount(data.y), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(data.y_test), np.full(10, 1000))
    assert data.X.min() == 0 and data.X.max() == 255
    row = next(r for r in dataset_locations() if r.name == "fashion-mnist")
    assert row.available and row.where == str(DEBIAN_FASHION)


@needs_debian_fashion
def test_fashion_mnist_md5s_match_debian_data():
    """The md5 table is right for the real files, up to Debian's gzip header rewrite.

    Debian's build drops the header's file name and resets its mtime, so the
    .gz md5s differ; putting back upstream's header (FNAME flag, the 2017
    mtimes found by search, the file name) over Debian's unchanged deflate data
    must reproduce torchvision's md5s exactly.
    """
    upstream_mtime = {
        "train-images-idx3-ubyte.gz": 1504176606,
        "train-labels-idx1-ubyte.gz": 1504176606,
        "t10k-images-idx3-ubyte.gz": 1504176627,
        "t10k-labels-idx1-ubyte.gz": 1504176627,
    }
    for filename, expected in mnist.SOURCES["fashion-mnist"].md5.items():
        debian = (DEBIAN_FASHION / filename).read_bytes()
        assert debian[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no flags: the stripped header
        header = b"\x1f\x8b\x08\x08" + upstream_mtime[filename].to_bytes(4, "little") + debian[8:10]
        rebuilt = header + filename.removesuffix(".gz").encode() + b"\x00" + debian[10:]
        assert hashlib.md5(rebuilt).hexdigest() == expected, filename


@needs_debian_fashion
def test_fashion_mnist_subset_is_stratified_and_seeded(monkeypatch):
    monkeypatch.delenv("HPSEARCH_DATA", raising=False)
    a = load_dataset("fashion-mnist", n_train=1000, n_test=200, seed=5)
    b = load_dataset("fashion-mnist", n_train=1000, n_test=200, seed=5)
    assert a.X.shape == (1000, 784) and a.X_test.shape == (200, 784)
    np.testing.assert_array_equal(np.bincount(a.y), np.full(10, 100))
    np.testing.assert_array_equal(a.X, b.X)


def test_data_dir_and_env_lookup_order(tmp_path, monkeypatch, isolated_env):
    explicit, env_root = tmp_path / "explicit", tmp_path / "env"
    write_idx_set(explicit, n_train=20)
    write_idx_set(env_root / "mnist", n_train=30)
    write_idx_set(env_root, n_train=40)
    monkeypatch.setenv("HPSEARCH_DATA", str(env_root))
    assert len(load_dataset("mnist", data_dir=explicit).y) == 20
    assert len(load_dataset("mnist").y) == 30  # $HPSEARCH_DATA/<name> before $HPSEARCH_DATA
    assert len(load_dataset("fashion-mnist").y) == 40  # no fashion-mnist subdirectory
    data = load_dataset("mnist")
    assert data.X.shape == (30, 784) and data.X.dtype == np.float32 and data.X_test.shape == (10, 784)


def test_explicit_data_dir_missing_files(tmp_path, isolated_env):
    with pytest.raises(FileNotFoundError, match="lacks train-images-idx3-ubyte, train-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


def test_raw_uncompressed_files_found(tmp_path, isolated_env):
    write_idx_set(tmp_path)
    for gz in tmp_path.glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    assert load_dataset("mnist", data_dir=tmp_path).X.shape == (30, 784)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_download_into_cache(http_dir, monkeypatch, isolated_env, name):
    served, url = http_dir
    written = write_idx_set(served)
    source = mnist.SOURCES[name]
    md5 = {filename: hashlib.md5(content).hexdigest() for filename, content in written.items()}
    monkeypatch.setitem(mnist.SOURCES, name, dataclasses.replace(source, md5=md5))
    monkeypatch.setenv(source.url_env, url)
    assert not next(r for r in dataset_locations() if r.name == name).available

    data = load_dataset(name)
    cache = isolated_env / "hpsearch" / name
    assert sorted(p.name for p in cache.iterdir()) == sorted(written)
    assert data.X.shape == (30, 784) and data.source == str(cache)
    assert next(r for r in dataset_locations() if r.name == name).where == str(cache)

    # Served files gone: the second load must come from the cache alone.
    for path in served.iterdir():
        path.unlink()
    np.testing.assert_array_equal(load_dataset(name).X, data.X)


def test_download_checksum_mismatch_leaves_nothing(http_dir, isolated_env):
    served, url = http_dir
    write_idx_set(served)  # not the real MNIST files, so the real md5s fail
    with pytest.raises(DownloadError, match="checksum mismatch for .*train-images-idx3-ubyte.gz") as info:
        load_dataset("mnist", url=url)
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in str(info.value)
    cache = isolated_env / "hpsearch" / "mnist"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_download_offline_error(isolated_env, monkeypatch, loopback):
    monkeypatch.setenv("HPSEARCH_MNIST_URL", closed_port_url())
    with pytest.raises(DownloadError) as info:
        load_dataset("mnist")
    text = str(info.value)
    assert "cannot download mnist" in text and "refused" in text.lower()
    assert str(isolated_env / "hpsearch" / "mnist") in text and "HPSEARCH_DATA" in text
    assert "\n" not in text


def test_download_disabled(isolated_env):
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_dataset("mnist", download=False)


def test_stratified_subset():
    y = np.repeat(np.arange(3), [50, 30, 20])
    keep = stratified_subset(y, 10, seed=1)
    np.testing.assert_array_equal(np.bincount(y[keep]), [5, 3, 2])
    assert np.all(np.diff(keep) > 0)
    np.testing.assert_array_equal(keep, stratified_subset(y, 10, seed=1))
    assert not np.array_equal(keep, stratified_subset(y, 10, seed=2))


# --------------------------------------------------------------------------
# CSV and NPZ
# --------------------------------------------------------------------------


def test_csv_string_labels(tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text("length,width,species\n1.0,2.0,setosa\n3.5,1.0,virginica\n2.0,2.5,setosa\n0.5,0.1,versicolor\n")
    data = load_dataset("csv", path=path, label="species")
    assert data.class_names == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(data.y, [0, 2, 0, 1])
    assert data.y.dtype == np.int64 and data.X.dtype == np.float32
    assert data.feature_names == ("length", "width") and data.name == "flowers"
    only_width = load_dataset("csv", path=path, label="species", features=["width"])
    np.testing.assert_array_equal(only_width.X[:, 0], np.float32([2.0, 1.0, 2.5, 0.1]))


def test_csv_missing_label_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,species\n1,2,x\n")
    with pytest.raises(ValueError, match="label column 'specie' not found; did you mean 'species'.*columns are: a, b"):
        load_dataset("csv", path=path, label="specie")


def test_csv_non_numeric_feature(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,colour,label\n1,red,0\n2,blue,1\n")
    with pytest.raises(ValueError, match="feature column 'colour' is not numeric .*'red'"):
        load_dataset("csv", path=path, label="label")


def test_csv_regression(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,target\n1,2,0.5\n2,3,1.5\n")
    data = load_dataset("csv", path=path, label="target", task="regression")
    assert data.y.dtype == np.float32 and data.class_names is None
    np.testing.assert_array_equal(data.y, [0.5, 1.5])


def test_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "arrays.npz"
    np.savez(path, features=rng.normal(size=(6, 2)), target=np.array([-1, 1, 1, -1, 1, -1]))
    data = load_dataset("npz", path=path, x_key="features", y_key="target")
    assert data.X.dtype == np.float32 and data.X.shape == (6, 2)
    assert data.class_names == ("-1", "1")
    np.testing.assert_array_equal(data.y, [0, 1, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="no array 'X'.*arrays are: features, target"):
        load_dataset("npz", path=path)

    with_test = tmp_path / "with_test.npz"
    np.savez(with_test, X=np.ones((4, 2)), y=[0, 1, 0, 1], X_test=np.zeros((2, 2)), y_test=[1, 0])
    data = load_dataset("npz", path=with_test)
    np.testing.assert_array_equal(data.y_test, [1, 0])
    assert data.class_names == ("0", "1")


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------


def test_split_deterministic_and_seeded():
    data = load_dataset("digits")
    a = split_dataset(data, seed=7)
    b = split_dataset(data, seed=7)
    c = split_dataset(data, seed=8)
    for field in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.X_val, c.X_val)
    # Every row is used exactly once.
    total = np.concatenate([a.X_train, a.X_val, a.X_test])
    assert len(total) == len(data.X)
    assert len(np.unique(total, axis=0)) == len(np.unique(data.X, axis=0))


def test_split_stratified_within_one_sample():
    data = make_dataset([100, 37, 61, 12])
    splits = split_dataset(data, val_fraction=0.2, test_fraction=0.1, seed=0)
    counts = np.array([100, 37, 61, 12])
    for y, fraction in ((splits.y_train, 0.7), (splits.y_val, 0.2), (splits.y_test, 0.1)):
        assert np.all(np.abs(np.bincount(y, minlength=4) - counts * fraction) <= 1)
    assert splits.X_train.dtype == np.float32 and splits.y_train.dtype == np.int64


def test_split_uses_official_test(tmp_path, isolated_env):
    write_idx_set(tmp_path, n_train=40, n_test=10)
    data = load_dataset("mnist", data_dir=tmp_path)
    splits = split_dataset(data, val_fraction=0.25, test_fraction=0.3, seed=0)
    np.testing.assert_array_equal(splits.X_test, data.X_test)
    assert len(splits.y_val) == 10 and len(splits.y_train) == 30


def test_split_too_few_samples_per_class():
    data = make_dataset([20, 2, 20])
    with pytest.raises(ValueError, match=r"class 'c1' \(label 1\) has only 2 samples; each class needs at least 3"):
        split_dataset(data)
    # Without a test split, two samples are enough.
    assert len(split_dataset(data, test_fraction=0.0).y_val) > 0


@pytest.mark.parametrize(
    ("val", "test"), [(-0.1, 0.1), (1.0, 0.1), (0.1, 1.5), (0.6, 0.5), (float("nan"), 0.1)]
)
def test_split_fraction_out_of_range(val, test):
    with pytest.raises(ValueError, match="fraction"):
        split_dataset(make_dataset([30, 30]), val_fraction=val, test_fraction=test)


def test_split_rejects_nan_and_inf():
    data = make_dataset([20, 20])
    data.X[5, 2] = np.nan
    data.X[9, 0] = np.inf
    with pytest.raises(ValueError, match=r"X has 2 NaN/inf values in 2 rows, first at row 5, column 2"):
        split_dataset(data)
    regression = make_dataset([20, 20], task="regression")
    regression.y[11] = np.nan
    with pytest.raises(ValueError, match=r"y has 1 NaN/inf values in 1 rows, first at row 11"):
        split_dataset(regression)


def test_split_regression_not_stratified():
    data = load_dataset("regression", n_samples=100, n_features=2)
    splits = split_dataset(data, seed=1)
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (70, 15, 15)
    assert splits.y_train.dtype == np.float32


# --------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------


def test_minmax_fitted_on_train_only():
    data = make_dataset([60, 60], n_features=4)
    data.X[:, 3] = 7.0  # constant column
    splits = split_dataset(data, seed=0)
    scaled = scale_splits(splits, "minmax")
    assert scaled.X_train.dtype == np.float32 and scaled.X_val.dtype == np.float32
    assert scaled.X_train.min() == 0.0 and scaled.X_train.max() == 1.0
    np.testing.assert_array_equal(scaled.X_train[:, 3], 0.0)
    # Parameters come from train: reproduce val from train's min and max by hand.
    lo, hi = splits.X_train[:, :3].min(axis=0), splits.X_train[:, :3].max(axis=0)
    np.testing.assert_allclose(scaled.X_val[:, :3], (splits.X_val[:, :3] - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scaled.scaling.apply(splits.X_test), scaled.X_test)


def test_minmax_validation_may_exceed_unit_range():
    column = lambda *values: np.array(values, dtype=np.float32).reshape(-1, 1)  # noqa: E731
    splits = datasets.Splits(
        X_train=column(0, 2, 4),
        y_train=column(0, 2, 4)[:, 0],
        X_val=column(-2, 8),
        y_val=column(-2, 8)[:, 0],
        X_test=column(1),
        y_test=column(1)[:, 0],
        task="regression",
    )
    scaled = scale_splits(splits, "minmax")
    np.testing.assert_array_equal(scaled.X_train[:, 0], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(scaled.X_val[:, 0], [-0.5, 2.0])
    np.testing.assert_array_equal(scaled.X_test[:, 0], [0.25])


def test_standard_fitted_on_train_only():
    data = make_dataset([200, 200], n_features=3)
    data.X[:, 1] = -2.0  # zero std
    data.X[:, 2] = data.X[:, 2] * 5 + 3
    scaled = scale_splits(split_dataset(data, seed=1), "standard")
    assert scaled.X_train.dtype == np.float32
    np.testing.assert_allclose(scaled.X_train[:, [0, 2]].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled.X_train[:, [0, 2]].std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(scaled.X_train[:, 1], 0.0)
    assert not np.isclose(scaled.X_val[:, 0].mean(), 0.0, atol=1e-6)  # val is not refitted


def test_fixed_range_and_none():
    splits = split_dataset(load_dataset("digits"), seed=0)
    fixed = scale_splits(splits, "fixed")
    np.testing.assert_allclose(fixed.X_train, splits.X_train / 16.0)
    assert fixed.X_train.dtype == np.float32
    custom = scale_splits(splits, "fixed", value_range=(0, 32))
    assert custom.X_train.max() == 0.5
    none = scale_splits(splits, "none")
    np.testing.assert_array_equal(none.X_val, splits.X_val)
    with pytest.raises(ValueError, match="no known value range"):
        scale_splits(split_dataset(make_dataset([30, 30])), "fixed")
    with pytest.raises(ValueError, match="unknown scaling method 'min-max'; did you mean 'minmax'"):
        scale_splits(splits, "min-max")
