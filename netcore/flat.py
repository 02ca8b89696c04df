"""Arrays that tile one flat buffer, so an element-wise update is one NumPy call, not one per array.

The MLP keeps its parameters (and, in the same layout, its gradients) as views of one flat
buffer; the optimiser finds that out with flat_view() and updates all of them in a few
passes. Each pass does exactly the element-wise operation the per-array loop did, so the
results are the same bit for bit; only the number of calls (and their overhead) changes.
"""

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from ._types import Array

# The buffer starts on a cache line, so whole-buffer passes run on aligned vectors.
ALIGNMENT = 64


def pack(shapes: Sequence[tuple[int, ...]], dtype: DTypeLike) -> tuple[Array, list[Array]]:
    """A zeroed flat buffer and views of it with `shapes`, laid out in that order."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(sum(sizes) + ALIGNMENT // itemsize, dtype=dtype)
    start = (-_address(raw) % ALIGNMENT) // itemsize
    flat = raw[start:start + sum(sizes)]
    offsets = np.cumsum([0, *sizes])
    return flat, [flat[start:start + size].reshape(shape)
                  for start, size, shape in zip(offsets, sizes, shapes)]


def _address(a: Array) -> int:
    address: int = a.__array_interface__["data"][0]
    return address


def flat_view(arrays: Sequence[Array]) -> tuple[Array, list[int]] | None:
    """(flat, offsets) when `arrays` are C-contiguous views that exactly tile one buffer,
    without gaps or overlaps (in any order): `flat` is a 1-D view of the whole tiled span and
    arrays[i] is flat[offsets[i]:offsets[i] + arrays[i].size]. None when they do not."""
    if not arrays:
        return None
    base = arrays[0].base
    dtype = arrays[0].dtype
    if not isinstance(base, np.ndarray) or not base.flags.c_contiguous or base.dtype != dtype:
        return None
    if any(a.base is not base or a.dtype != dtype or not a.flags.c_contiguous for a in arrays):
        return None
    start = _address(base)
    offsets = [(_address(a) - start) // dtype.itemsize for a in arrays]
    spans = sorted(zip(offsets, (a.size for a in arrays)))
    for (offset, size), (next_offset, _) in zip(spans, spans[1:]):
        if offset + size != next_offset:
            return None
    first, (last, last_size) = spans[0][0], spans[-1]
    flat = base.reshape(-1)[first:last + last_size]
    return flat, [offset - first for offset in offsets]


def runs(offsets: Sequence[int], sizes: Sequence[int], selected: Sequence[bool]) -> list[tuple[int, int]]:
    """The selected arrays' spans (start, stop) in the flat layout, adjacent spans merged."""
    spans = sorted((offset, offset + size) for offset, size, keep in zip(offsets, sizes, selected) if keep)
    merged: list[tuple[int, int]] = []
    for start, stop in spans:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged
