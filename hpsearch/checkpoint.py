"""The checkpoint: an append-only journal of what each generation added to a run's state.

A run's state is a small snapshot (the GA's population and Generator, the budget counters,
the best so far) and logs that only grow (trial rows, curves, the evaluation cache, ...).
Each save appends one record: the new snapshot and the items each log gained since the last
save. Saving therefore costs what the generation added, not the whole history; resuming
replays the records. A record is written with one write() and fsynced, and a record cut
short by a crash is ignored (and cut off before the next append), so the journal always
ends at a complete generation.

    DIR/checkpoint.pkl    a header record {"format", "settings"}, then one record per save
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

from .results import CHECKPOINT, write_atomic

FORMAT = "hpsearch-checkpoint-2"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read (damaged, or written by another version)."""


class Journal:
    """Appends records to DIR/checkpoint.pkl and replays them."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.path = Path(out_dir) / CHECKPOINT
        self._saved: dict[str, int] = {}  # log name -> items already in the journal

    def read(self) -> tuple[Any, dict[str, Any], dict[str, list]] | None:
        """(settings, last snapshot, logs) replayed from the journal; None if there is none.
        A damaged tail (a record cut short by a crash) is dropped from the file."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        stream, records, good = io.BytesIO(data), [], 0
        while stream.tell() < len(data):
            try:
                records.append(pickle.load(stream))
            except Exception:  # a record cut short: the journal ends at the one before
                break
            good = stream.tell()
        if not records or not isinstance(records[0], dict) or "format" not in records[0]:
            raise CheckpointError(f"{self.path}: not an hpsearch checkpoint")
        if records[0]["format"] != FORMAT:
            raise CheckpointError(f"{self.path}: written by another version of hpsearch "
                                  f"({records[0]['format']}, this one reads {FORMAT}); cannot resume")
        if good < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good)
        snapshot: dict[str, Any] = {}
        logs: dict[str, list] = {}
        for record in records[1:]:
            snapshot = record["snapshot"]
            for name, items in record["logs"].items():
                logs.setdefault(name, []).extend(items)
        self._saved = {name: len(items) for name, items in logs.items()}
        return records[0]["settings"], snapshot, logs

    def start(self, settings: Any) -> None:
        """A new journal holding only the header."""
        self._saved = {}
        header = pickle.dumps({"format": FORMAT, "settings": settings}, protocol=5)
        write_atomic(self.path, lambda f: f.write(header), durable=True)

    def save(self, snapshot: dict[str, Any], logs: dict[str, list]) -> None:
        """Append the snapshot and each log's items added since the last save."""
        new = {name: items[self._saved.get(name, 0):] for name, items in logs.items()}
        self._write({"snapshot": snapshot, "logs": new}, mode="ab")
        self._saved = {name: len(items) for name, items in logs.items()}

    def _write(self, record: dict[str, Any], mode: str) -> None:
        data = pickle.dumps(record, protocol=5)
        with open(self.path, mode, buffering=0) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
