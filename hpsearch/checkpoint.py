"""The checkpoint: an append-only journal of what each generation added to a run's state.

A run's state is a small snapshot (the GA's population and Generator, the budget counters,
the best so far) and logs that only grow (trial rows, curves, the evaluation cache, ...).
Each save appends one record: the new snapshot and the items each log gained since the last
save. Saving therefore costs what the generation added, not the whole history; resuming
replays the records. A record is one line written with one write() and fsynced; a last line
cut short by a crash is ignored (and cut off before the next append), so the journal always
ends at a complete generation.

    DIR/checkpoint.jsonl   a header line {"format", "settings", "config", "numerics"}, then a line per save

The journal is data only: JSON lines (Python's json, with NaN and Infinity), read with
json.loads, which cannot run code, so a results directory can be shared and resumed safely.
Tuples and dicts with keys other than strings are tagged ({"__tuple__": [...]},
{"__pairs__": [[key, value], ...]}) so they come back as they were saved; anything else
(an object, an array) is refused when saving rather than turned into something else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .results import CHECKPOINT, LEGACY_CHECKPOINT, write_atomic

FORMAT = "hpsearch-checkpoint-3"
TUPLE, PAIRS = "__tuple__", "__pairs__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read (damaged, edited, or written by another version)."""


def encode(value: Any) -> Any:
    """`value` as plain JSON data, tuples and non-string keys tagged; TypeError for what
    JSON cannot hold."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, tuple):
        return {TUPLE: [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        if all(isinstance(key, str) and not key.startswith("__") for key in value):
            return {key: encode(item) for key, item in value.items()}
        return {PAIRS: [[encode(key), encode(item)] for key, item in value.items()]}
    raise TypeError(f"the checkpoint holds plain data only, not {type(value).__name__}")


def _decode_object(pairs: list[tuple[str, Any]]) -> Any:
    if len(pairs) == 1 and pairs[0][0] == TUPLE:
        return tuple(pairs[0][1])
    if len(pairs) == 1 and pairs[0][0] == PAIRS:
        items = pairs[0][1]
        if not all(isinstance(item, list) and len(item) == 2 for item in items):
            raise ValueError(f"{PAIRS} must hold [key, value] pairs")
        try:
            return {key: item for key, item in items}
        except TypeError:  # a list as a key: not something this module writes
            raise ValueError(f"{PAIRS} with an unhashable key") from None
    return dict(pairs)


def decode(line: str | bytes) -> Any:
    """One journal line back into Python data (ValueError for anything malformed)."""
    return json.loads(line, object_pairs_hook=_decode_object)


def dumps(record: Any) -> bytes:
    return (json.dumps(encode(record), allow_nan=True, separators=(",", ":")) + "\n").encode()


class Journal:
    """Appends records to DIR/checkpoint.jsonl and replays them."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.path = Path(out_dir) / CHECKPOINT
        self._saved: dict[str, int] = {}  # log name -> items already in the journal

    def header(self) -> dict[str, Any] | None:
        """The header record (format, settings, config), or None if there is no journal."""
        self._refuse_legacy()
        try:
            with open(self.path, "rb") as f:
                first = f.readline()
        except FileNotFoundError:
            return None
        return self._check_header(self._parse(first) if first.endswith(b"\n") else None)

    def read(self) -> tuple[Any, dict[str, Any], dict[str, list]] | None:
        """(settings, last snapshot, logs) replayed from the journal; None if there is none.
        A damaged last line (a record cut short by a crash) is dropped from the file."""
        self._refuse_legacy()
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]  # tail: after the last newline, cut short or b""
        good = len(data) - len(tail)
        records = [self._parse(line) for line in complete]
        if records and records[-1] is None:  # a torn last record that happens to end in "\n"
            good -= len(complete[-1]) + 1
            records.pop()
        if any(record is None for record in records):
            bad = 1 + [record is None for record in records].index(True)
            raise CheckpointError(f"{self.path}: line {bad} is damaged (not a record this version wrote); "
                                  f"cannot resume")
        header = self._check_header(records[0] if records else None)
        if good < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good)
        snapshot: dict[str, Any] = {}
        logs: dict[str, list] = {}
        for number, record in enumerate(records[1:], start=2):
            if not (isinstance(record, dict) and isinstance(record.get("snapshot"), dict)
                    and isinstance(record.get("logs"), dict)
                    and all(isinstance(items, list) for items in record["logs"].values())):
                raise CheckpointError(f"{self.path}: line {number} is not a record of snapshot and logs; "
                                      f"cannot resume")
            snapshot = record["snapshot"]
            for name, items in record["logs"].items():
                logs.setdefault(name, []).extend(items)
        self._saved = {name: len(items) for name, items in logs.items()}
        return header["settings"], snapshot, logs

    def start(self, settings: Any, config: Any = None, numerics: Any = None) -> None:
        """A new journal holding only the header (with the config the run was started with,
        so a directory is resumable from its first byte, and the numeric environment of the
        process that started it: hpsearch.numerics)."""
        self._saved = {}
        header = dumps({"format": FORMAT, "settings": settings, "config": config, "numerics": numerics})
        write_atomic(self.path, lambda f: f.write(header), durable=True)

    def save(self, snapshot: dict[str, Any], logs: dict[str, list]) -> None:
        """Append the snapshot and each log's items added since the last save."""
        new = {name: items[self._saved.get(name, 0):] for name, items in logs.items()}
        data = dumps({"snapshot": snapshot, "logs": new})
        try:
            with open(self.path, "ab", buffering=0) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as error:  # a part written (disk full) is a torn last line: read() drops it
            error.filename = error.filename or str(self.path)
            raise
        self._saved = {name: len(items) for name, items in logs.items()}

    # -- checks ---------------------------------------------------------------------------
    @staticmethod
    def _parse(line: bytes) -> Any:
        """A line's record, or None if it is not one (cut short, damaged, edited)."""
        try:
            return decode(line)
        except (ValueError, RecursionError):
            return None

    def _check_header(self, header: Any) -> dict[str, Any]:
        if not isinstance(header, dict) or "format" not in header:
            raise CheckpointError(f"{self.path}: not an hpsearch checkpoint")
        if header["format"] != FORMAT:
            raise CheckpointError(f"{self.path}: written by another version of hpsearch "
                                  f"({header['format']!r}, this one reads {FORMAT}); cannot resume")
        if "settings" not in header:
            raise CheckpointError(f"{self.path}: its header has no settings; cannot resume")
        return header

    def _refuse_legacy(self) -> None:
        legacy = self.path.parent / LEGACY_CHECKPOINT
        if legacy.exists() or legacy.is_symlink():
            raise CheckpointError(f"{legacy}: a pickle checkpoint of an older hpsearch (pickle can run code) "
                                  f"is never read; rerun the search in a new directory")
