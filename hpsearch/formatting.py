"""Values as text, in the two ways hpsearch writes them:

    format_cell(0.1)        -> "0.1"         a CSV cell, lossless (floats by repr), as pandas writes it
    fmt(0.000123456)        -> "0.0001235"   for a person: 4 significant digits
    fmt([256, 128])         -> "256-128"     layer sizes as they are written in hpsearch's output

Both write None and NaN as an empty cell, booleans as True/False and integers in full.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def format_cell(value: Any) -> str:
    """A table cell as pandas' to_csv writes it: empty for None and NaN, floats by repr."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else repr(float(value))
    return str(value)


def fmt(value: Any) -> str:
    """A value as a person reads it: floats to 4 significant digits (integral ones as
    integers), NaN and None empty, lists of integers joined by "-" (layer sizes, 256-128),
    other lists by ", ", mappings as k=v pairs."""
    if isinstance(value, (float, np.floating)) and not math.isnan(value):
        value = float(value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        integers = all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value)
        return ("-" if integers else ", ").join(fmt(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={fmt(v)}" for k, v in value.items())
    return format_cell(value)
