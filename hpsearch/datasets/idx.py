"""The IDX file format of MNIST-style data: a small header, then one big-endian array."""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .base import errors_naming

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


# Trailing bytes are counted only this far: enough to report them, never a whole gzip bomb.
_TRAILING_LIMIT = 1 << 20
_CHUNK = 1 << 20


def _open(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed as a stream when they are gzip data.

    The content decides, not the name: mirrors and packagers sometimes decompress files
    and keep the .gz name, or the other way round.
    """
    with open(path, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _bytes_left(stream: io.BufferedIOBase, limit: int) -> int:
    """How many bytes the stream has left, counted up to ``limit`` without keeping them.

    For a raw file that is its size; gzip data has to be inflated to know, which is done
    in chunks, so that neither a lying header nor a gzip bomb costs more than a chunk.
    """
    if not isinstance(stream, gzip.GzipFile):
        return min(os.fstat(stream.fileno()).st_size - stream.tell(), limit)
    count = 0
    while count < limit and (chunk := stream.read(min(_CHUNK, limit - count))):
        count += len(chunk)
    return count


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or raw) into a NumPy array.

    The magic number is two zero bytes, a dtype code (0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of
    dimensions; then one big-endian uint32 per dimension, then the data.
    ``expected_magic`` (e.g. ``IDX_IMAGES_MAGIC``) rejects any other magic.
    The data's length is checked against the dimensions before anything is
    allocated for them. Problems raise a one-line ValueError naming the file.
    """
    path = Path(path)
    try:
        with errors_naming(path):
            return _read_idx(path, expected_magic)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None


def _read_idx(path: Path, expected_magic: int | None) -> np.ndarray:
    with _open(path) as stream:
        magic_bytes = stream.read(4)
        if len(magic_bytes) < 4:
            raise ValueError(
                f"{path}: truncated IDX file: {len(magic_bytes)} bytes, too short for the 4-byte magic number"
            )
        magic = int.from_bytes(magic_bytes, "big")
        if magic_bytes[:2] != b"\0\0" or (expected_magic is not None and magic != expected_magic):
            if expected_magic is not None:
                expected = f"0x{expected_magic:08X}"
            else:
                expected = "0x0000TTNN (two zero bytes, dtype code, ndim)"
            raise ValueError(f"{path}: wrong magic number 0x{magic:08X}, expected {expected}")
        code, ndim = magic_bytes[2], magic_bytes[3]
        if code not in _IDX_DTYPES:
            known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
            raise ValueError(f"{path}: unsupported IDX dtype code 0x{code:02X} (supported: {known})")
        if ndim == 0:
            raise ValueError(f"{path}: IDX header declares 0 dimensions")
        header_len = 4 + 4 * ndim
        dims = stream.read(4 * ndim)
        if len(dims) < 4 * ndim:
            raise ValueError(
                f"{path}: truncated IDX file: header needs {header_len} bytes for {ndim} dimensions, "
                f"file has {4 + len(dims)}"
            )
        shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
        if 0 in shape:
            what = "no samples" if shape[0] == 0 else "empty samples"
            raise ValueError(f"{path}: IDX file has {what}: dimensions {shape}")
        dtype = _IDX_DTYPES[code]
        expected_bytes = math.prod(shape) * dtype.itemsize
        found_bytes = _bytes_left(stream, expected_bytes + _TRAILING_LIMIT + 1)
    if found_bytes < expected_bytes:
        raise ValueError(
            f"{path}: truncated IDX file: dimensions {shape} promise {expected_bytes} data bytes, "
            f"found {found_bytes}"
        )
    if found_bytes > expected_bytes:
        extra = found_bytes - expected_bytes
        shown = f"more than {_TRAILING_LIMIT}" if extra > _TRAILING_LIMIT else str(extra)
        raise ValueError(
            f"{path}: trailing garbage: {shown} bytes after the {expected_bytes} data bytes "
            f"that dimensions {shape} promise"
        )
    # The length is right: now allocate, and fill in chunks (a gzip stream would otherwise
    # build the whole data as one more bytes object first).
    array = np.empty(math.prod(shape), dtype=dtype)
    buffer = array.view(np.uint8).data
    with _open(path) as stream:
        stream.seek(header_len)
        filled = 0
        while filled < len(buffer):
            n = stream.readinto(buffer[filled : filled + _CHUNK])
            if not n:
                raise ValueError(f"{path}: the file changed while it was being read")
            filled += n
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array.reshape(shape)
