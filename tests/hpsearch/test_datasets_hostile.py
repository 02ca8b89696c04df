"""Hostile or broken data files (npz, IDX, CSV): each must end in a one-line ValueError that
names the file and the problem -- never a traceback, an absurd allocation or a silent misreading."""

from __future__ import annotations

import gzip
import re
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from hpsearch.cli import main
from hpsearch.datasets import Dataset, load_dataset, read_idx

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def one_line_error(call, path: Path, pattern: str) -> str:
    """Run call(), which must raise a one-line ValueError naming ``path`` and matching ``pattern``."""
    with pytest.raises(ValueError) as info:
        call()
    text = str(info.value)
    assert str(path) in text, text
    assert "\n" not in text, text
    assert re.search(pattern, text), text
    return text


def idx_header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape)


def gzip_of_zeros(header: bytes, n_zeros: int) -> bytes:
    """A gzip stream of ``header`` then ``n_zeros`` zero bytes, built without holding them in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    parts = [compressor.compress(header)]
    chunk = bytes(1 << 20)
    for _ in range(n_zeros // len(chunk)):
        parts.append(compressor.compress(chunk))
    parts.append(compressor.flush())
    return b"".join(parts)


def peak_memory(call) -> int:
    """Peak bytes traced (NumPy's allocations included) while call() runs (its error ignored)."""
    tracemalloc.start()
    try:
        call()
    except ValueError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def two_class_X(n: int = 12) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 3))


# --------------------------------------------------------------------------
# 1. Labels are encoded to 0..k-1, whatever their values
# --------------------------------------------------------------------------


def test_npz_large_integer_labels_are_encoded(tmp_path):
    path = tmp_path / "far.npz"
    y = np.array([0, 1, 50000] * 4)
    np.savez(path, X=two_class_X(), y=y, X_test=two_class_X(3), y_test=np.array([50000, 0, 1]))
    data = load_dataset("npz", path=path)
    assert data.class_names == ("0", "1", "50000") and data.n_classes == 3
    np.testing.assert_array_equal(data.y, [0, 1, 2] * 4)
    np.testing.assert_array_equal(data.y_test, [2, 0, 1])

    billion = tmp_path / "billion.npz"
    np.savez(billion, X=two_class_X(4), y=np.array([0, 10**9, 0, 10**9]))
    data = load_dataset("npz", path=billion)
    assert data.class_names == ("0", "1000000000") and data.n_classes == 2


def test_csv_and_npz_share_the_encoding(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("a,y\n" + "".join(f"{i},{label}\n" for i, label in enumerate([-1, 7, 50000, 7])))
    npz = tmp_path / "labels.npz"
    np.savez(npz, X=np.arange(4.0)[:, None], y=np.array([-1, 7, 50000, 7]))
    for data in (load_dataset("csv", path=csv, label="y"), load_dataset("npz", path=npz)):
        assert data.class_names == ("-1", "7", "50000")
        np.testing.assert_array_equal(data.y, [0, 1, 2, 1])


def test_test_label_unseen_in_training(tmp_path):
    path = tmp_path / "unseen.npz"
    np.savez(path, X=two_class_X(), y=np.array([0, 1] * 6), X_test=two_class_X(4), y_test=np.array([0, 1, 2, 2]))
    one_line_error(lambda: load_dataset("npz", path=path), path,
                   r"array 'y_test' has label 2 \(at row 2, 2 rows in all\) that array 'y' never has")
    strings = tmp_path / "unseen_strings.npz"
    np.savez(strings, X=two_class_X(4), y=np.array(["cat", "dog"] * 2), X_test=two_class_X(1), y_test=["cow"])
    one_line_error(lambda: load_dataset("npz", path=strings), strings, r"label 'cow' \(at row 0")


def test_non_integer_float_labels_are_refused(tmp_path):
    path = tmp_path / "target.csv"
    path.write_text("a,y\n1,0.5\n2,1.5\n3,0.5\n")
    one_line_error(lambda: load_dataset("csv", path=path, label="y"), path,
                   r"label column 'y' has label 0.5 at row 0, which is not an integer.*task = 'regression'")
    whole = tmp_path / "whole.npz"
    np.savez(whole, X=two_class_X(4), y=np.array([1.0, 2.0, 1.0, 2.0]))
    assert load_dataset("npz", path=whole).class_names == ("1", "2")


def test_npz_class_names_keep_labels_and_check_their_range(tmp_path):
    path = tmp_path / "named.npz"
    np.savez(path, X=two_class_X(4), y=np.array([0, 2, 0, 2]))
    data = load_dataset("npz", path=path, class_names=["a", "b", "c"])
    np.testing.assert_array_equal(data.y, [0, 2, 0, 2])
    one_line_error(lambda: load_dataset("npz", path=path, class_names=["a", "b"]), path,
                   r"label 2 but only 2 class names")


# --------------------------------------------------------------------------
# 2. IDX sizes are checked against the real data before allocating
# --------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_idx_header_declaring_huge_shape(tmp_path, compress):
    # 10**12 uint8 values (IDX dimensions are uint32, so over two dimensions): 931 GiB.
    content = idx_header(0x08, (1_000_000, 1_000_000)) + bytes(100)
    path = tmp_path / "huge-idx2-ubyte"
    path.write_bytes(gzip.compress(content, mtime=0) if compress else content)
    peak = peak_memory(lambda: read_idx(path))
    assert peak < 8 << 20
    one_line_error(lambda: read_idx(path), path,
                   r"truncated IDX file: dimensions \(1000000, 1000000\) promise 1000000000000 data bytes, found 100")


# --------------------------------------------------------------------------
# 3. A gzip bomb is never inflated whole
# --------------------------------------------------------------------------


def test_idx_gzip_bomb_stops_at_the_declared_size(tmp_path):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gzip_of_zeros(idx_header(0x08, (10,)), 64 << 20))  # 64 MiB of zeros in ~64 KB
    assert path.stat().st_size < 200_000
    peak = peak_memory(lambda: read_idx(path))
    assert peak < 8 << 20
    one_line_error(lambda: read_idx(path), path,
                   r"trailing garbage: more than 1048576 bytes after the 10 data bytes that dimensions \(10,\) promise")


def test_idx_gzip_of_the_declared_size_is_read(tmp_path):
    shape = (3, 4, 5)
    array = np.arange(60, dtype=">i4").reshape(shape)
    path = tmp_path / "ok.gz"
    path.write_bytes(gzip.compress(idx_header(0x0C, shape) + array.tobytes()))
    result = read_idx(path)
    assert result.dtype == np.int32 and result.dtype.isnative and result.flags.writeable
    np.testing.assert_array_equal(result, array)


# --------------------------------------------------------------------------
# 4. MemoryError becomes a one-line error naming the file
# --------------------------------------------------------------------------


def test_memory_error_names_the_file(tmp_path, monkeypatch):
    import pandas as pd

    path = tmp_path / "big.csv"
    path.write_text("a,y\n1,0\n2,1\n")

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 9.31 GiB for an array with shape (50001, 50001) and data type float32")

    monkeypatch.setattr(pd, "read_csv", out_of_memory)
    one_line_error(lambda: load_dataset("csv", path=path, label="y"), path,
                   r"not enough memory to load it \(Unable to allocate 9.31 GiB")
    idx = tmp_path / "ok-idx1-ubyte"
    idx.write_bytes(idx_header(0x08, (4,)) + bytes(4))
    monkeypatch.setattr(np, "empty", out_of_memory)
    one_line_error(lambda: read_idx(idx), idx, r"not enough memory to load it")


def npy_bytes(array: np.ndarray, shape: str | None = None) -> bytes:
    """``array`` in .npy format, its header's shape replaced by the text ``shape`` if given."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    raw = buffer.getvalue()
    if shape is None:
        return raw
    length = int.from_bytes(raw[8:10], "little")
    header = raw[10 : 10 + length].decode("latin1").replace(str(array.shape), shape).rstrip()
    header = header.ljust(64 * ((10 + len(header) + 1 + 63) // 64) - 11) + "\n"  # keep the 64-byte alignment
    return raw[:8] + len(header).to_bytes(2, "little") + header.encode("latin1") + raw[10 + length :]


def test_npz_array_header_declaring_huge_shape(tmp_path):
    # An .npy header edited to declare 3 * 10**12 float64s (22 TiB): NumPy would allocate
    # them before reading anything.
    path = tmp_path / "hostile.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", npy_bytes(np.zeros((4, 3)), "(1000000000000, 3)"))
        archive.writestr("y.npy", npy_bytes(np.array([0, 1, 0, 1])))
    peak = peak_memory(lambda: load_dataset("npz", path=path))
    assert peak < 8 << 20
    one_line_error(lambda: load_dataset("npz", path=path), path,
                   r"cannot read array 'X' \(its header declares shape \(1000000000000, 3\), 24000000000000 bytes, "
                   r"but the archive holds 96\)")


# --------------------------------------------------------------------------
# 5. Overflow, complex data, empty IDX files, a single class
# --------------------------------------------------------------------------


def test_value_too_large_for_float32(tmp_path):
    X = two_class_X()
    X[3, 1] = 1e308
    path = tmp_path / "big.npz"
    np.savez(path, X=X, y=np.array([0, 1] * 6))
    one_line_error(lambda: load_dataset("npz", path=path), path,
                   r"X has 1 values too large for float32 \(beyond \+-3.403e\+38, they would overflow to inf\), "
                   r"first 1e\+308 at row 3, column 1")
    csv = tmp_path / "big.csv"
    csv.write_text("a,b,y\n1,2,0\n3,-1e300,1\n")
    one_line_error(lambda: load_dataset("csv", path=csv, label="y"), csv, r"first -1e\+300 at row 1, column 1 \('b'\)")


def test_complex_data_is_refused(tmp_path):
    path = tmp_path / "complex.npz"
    np.savez(path, X=two_class_X() + 1j, y=np.array([0, 1] * 6))
    one_line_error(lambda: load_dataset("npz", path=path), path, r"X is complex \(dtype complex128\)")
    labels = tmp_path / "complex_labels.npz"
    np.savez(labels, X=two_class_X(2), y=np.array([1j, 2j]))
    one_line_error(lambda: load_dataset("npz", path=labels), labels, r"array 'y' has complex labels")
    target = tmp_path / "complex_target.npz"
    np.savez(target, X=two_class_X(2), y=np.array([1j, 2j]))
    one_line_error(lambda: load_dataset("npz", path=target, task="regression"), target, r"y is complex")


@pytest.mark.parametrize("compress", [False, True])
def test_zero_row_idx_file(tmp_path, compress):
    content = idx_header(0x08, (0, 28, 28))
    directory = tmp_path / "mnist"
    directory.mkdir()
    for name in IDX_NAMES:
        rows = 0 if name.startswith("train-images") else 4
        header = idx_header(0x08, (rows, 28, 28) if "images" in name else (rows,))
        body = bytes(rows * 28 * 28 if "images" in name else rows)
        (directory / name).write_bytes(header + body)
    path = directory / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(content) if compress else content)
    one_line_error(lambda: load_dataset("mnist", data_dir=directory), path,
                   r"IDX file has no samples: dimensions \(0, 28, 28\)")


def test_single_class_is_refused_at_load_time(tmp_path):
    path = tmp_path / "single.npz"
    np.savez(path, X=two_class_X(), y=np.zeros(12, dtype=int))
    one_line_error(lambda: load_dataset("npz", path=path), path,
                   r"classification needs at least 2 classes, found 1: '0' \(all 12 labels in y\)")
    with pytest.raises(ValueError, match="found 1: 'only'"):
        Dataset(name="toy", X=np.zeros((3, 1)), y=np.zeros(3, dtype=int), task="classification",
                class_names=("only",))
    # Regression has no classes to count.
    assert load_dataset("npz", path=path, task="regression").y.dtype == np.float32


# --------------------------------------------------------------------------
# Unreadable files
# --------------------------------------------------------------------------


def test_npz_that_is_not_an_archive(tmp_path):
    np.save(tmp_path / "single.npy", np.zeros(3))
    one_line_error(lambda: load_dataset("npz", path=tmp_path / "single.npy"), tmp_path / "single.npy",
                   r"a single .npy array, not an .npz archive")
    text = tmp_path / "text.npz"
    text.write_text("hello")
    one_line_error(lambda: load_dataset("npz", path=text), text, r"not an .npz archive")
    good = tmp_path / "good.npz"
    np.savez(good, X=two_class_X(), y=np.array([0, 1] * 6))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    one_line_error(lambda: load_dataset("npz", path=truncated), truncated, r"corrupt .npz archive|cannot read array")
    flipped = bytearray(good.read_bytes())
    flipped[120] ^= 0xFF  # inside X's data: the zip CRC catches it
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(flipped))
    one_line_error(lambda: load_dataset("npz", path=damaged), damaged, r"cannot read array 'X' \(Bad CRC-32")


def test_npz_compressed_and_raw_members(tmp_path):
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, X=two_class_X(), y=np.array(["a", "b"] * 6))
    assert load_dataset("npz", path=path).class_names == ("a", "b")
    raw = tmp_path / "raw_member.npz"
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("X", b"not an array")
        archive.writestr("y.npy", npy_bytes(np.array([0, 1])))
    one_line_error(lambda: load_dataset("npz", path=raw), raw, r"cannot read array 'X' \(not .npy data\)")


def test_npz_test_split_needs_both_arrays(tmp_path):
    path = tmp_path / "half.npz"
    np.savez(path, X=two_class_X(), y=np.array([0, 1] * 6), X_test=two_class_X(2))
    one_line_error(lambda: load_dataset("npz", path=path), path, r"has 'X_test' but no 'y_test'; a test split needs both")


def test_csv_parse_error_names_the_file(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text('a,y\n1,0\n2,1,3,4\n"unclosed\n')
    one_line_error(lambda: load_dataset("csv", path=path, label="y"), path, r"cannot read as CSV \(")


# --------------------------------------------------------------------------
# End to end: the command line prints one line and exits 2
# --------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda d: np.savez(d / "data.npz", X=two_class_X(), y=np.zeros(12, dtype=int)), r"needs at least 2 classes"),
    (lambda d: np.savez(d / "data.npz", X=two_class_X(), y=np.array([0, 1] * 6), X_test=two_class_X(1), y_test=[7]),
     r"label 7 .* never has"),
    (lambda d: np.savez(d / "data.npz", X=two_class_X() * 1e300, y=np.array([0, 1] * 6)), r"too large for float32"),
])
def test_cli_reports_hostile_npz_in_one_line(tmp_path, capsys, make, message):
    make(tmp_path)
    config = tmp_path / "run.toml"
    config.write_text(f"[dataset]\nname = 'npz'\npath = '{tmp_path / 'data.npz'}'\n")
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpsearch: error: ") and err.count("\n") == 1, err
    assert str(tmp_path / "data.npz") in err and re.search(message, err), err
    assert "Traceback" not in err


def test_cli_reports_idx_gzip_bomb_in_one_line(tmp_path, capsys):
    directory = tmp_path / "idx"
    directory.mkdir()
    for name in IDX_NAMES:
        header = idx_header(0x08, (4, 28, 28) if "images" in name else (4,))
        (directory / f"{name}.gz").write_bytes(gzip.compress(header + bytes(4 * 28 * 28 if "images" in name else 4)))
    bomb = directory / "train-labels-idx1-ubyte.gz"
    bomb.write_bytes(gzip_of_zeros(idx_header(0x08, (4,)), 16 << 20))
    config = tmp_path / "run.toml"
    config.write_text(f"[dataset]\nname = 'mnist'\ndata_dir = '{directory}'\n")
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpsearch: error: ") and err.count("\n") == 1, err
    assert str(bomb) in err and "trailing garbage: more than 1048576 bytes" in err, err
