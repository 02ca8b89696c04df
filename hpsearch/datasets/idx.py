"""The IDX file format of MNIST-style data: a small header, then one big-endian array."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

# IDX dtype codes (third byte of the magic number); multi-byte types are big-endian.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_LABELS_MAGIC = 0x00000801  # uint8, 1-D
IDX_IMAGES_MAGIC = 0x00000803  # uint8, 3-D


def _read_maybe_gzip(path: Path) -> bytes:
    with open(path, "rb") as fh:
        raw = fh.read()
    # The content decides, not the name: mirrors and packagers sometimes
    # decompress files and keep the .gz name, or the other way round.
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or raw) into a NumPy array.

    The magic number is two zero bytes, a dtype code (0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of
    dimensions; then one big-endian uint32 per dimension, then the data.
    ``expected_magic`` (e.g. ``IDX_IMAGES_MAGIC``) rejects any other magic.
    Problems raise a one-line ValueError naming the file.
    """
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise ValueError(
            f"{path}: truncated IDX file: {len(data)} bytes, too short for the 4-byte magic number"
        )
    magic = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0 or (expected_magic is not None and magic != expected_magic):
        if expected_magic is not None:
            expected = f"0x{expected_magic:08X}"
        else:
            expected = "0x0000TTNN (two zero bytes, dtype code, ndim)"
        raise ValueError(f"{path}: wrong magic number 0x{magic:08X}, expected {expected}")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{path}: unsupported IDX dtype code 0x{code:02X} (supported: {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"{path}: truncated IDX file: header needs {header_len} bytes for {ndim} dimensions, "
            f"file has {len(data)}"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected_bytes = math.prod(shape) * dtype.itemsize
    found_bytes = len(data) - header_len
    if found_bytes < expected_bytes:
        raise ValueError(
            f"{path}: truncated IDX file: dimensions {shape} promise {expected_bytes} data bytes, "
            f"found {found_bytes}"
        )
    if found_bytes > expected_bytes:
        raise ValueError(
            f"{path}: trailing garbage: {found_bytes - expected_bytes} bytes after "
            f"the {expected_bytes} data bytes "
            f"that dimensions {shape} promise"
        )
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
