"""Writing a results directory's files: whole and atomically, or tables by appending rows.

Every file is written whole to a temporary file in the same directory and moved into place
with os.replace (write_atomic), so a crash (or SIGKILL) at any moment leaves either the old
or the new version of a file, never a truncated one. The tables a run grows (trials.csv,
generations.csv, curves.csv) are CsvLogs: appended to, one write() of whole lines per save.
hpsearch.results names the files and reads them back; it re-exports what is written here.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import tomli_w

# Statuses of trials that have no score: the engine ranks them at fitness -inf; the tables
# (trials.csv, SearchResult.trials) leave their fitness empty (NaN).
from .formatting import format_cell
from .status import FAILED_STATUSES

if TYPE_CHECKING:
    from .space import Space

# Trial-table columns before the genes and after them; metric columns go in between.
LEADING_COLUMNS = ["trial_id", "generation", "status", "fitness", "cached"]
TRAILING_COLUMNS = ["seed", "seed_index", "seconds", "parents", "operator", "reason", "worker"]
METRIC_COLUMNS = ["val_metric", "val_loss", "train_loss", "epochs_run", "epochs_trained", "rung",
                  "rung0_score", "predicted", "n_params", "train_seconds", "latency"]
# Population-based training's trials table: members instead of genomes' lineage.
PBT_LEADING_COLUMNS = ["trial_id", "generation", "member", "status", "fitness", "cached"]
PBT_TRAILING_COLUMNS = ["epochs_total", "seed", "seconds", "parents", "operator", "copied_from", "reason",
                        "worker"]


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomic(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any], durable: bool = False) -> None:
    """Call write(file_object) on a temporary file, then move it onto `path`.

    The rename alone survives a killed process; durable=True also fsyncs, for surviving an
    operating-system crash. Only the checkpoint needs that: the tables are rewritten from it.
    """
    def fill(fd, tmp):
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())

    _replace_atomic(path, fill)


def save_atomic(path: str | os.PathLike[str], save: Callable[[str], Any]) -> None:
    """Call save(temporary_path) for a writer that wants a file name (netcore's model files),
    then move the file onto `path`: a crash leaves the old file or the new one."""
    def fill(fd, tmp):
        os.close(fd)
        save(tmp)

    _replace_atomic(path, fill)


def _replace_atomic(path, fill):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide results from other users
        fill(fd, tmp)
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # a full disk's message then names the file
        raise


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    write_atomic(path, lambda f: frame.to_csv(f, index=False))


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    text = json.dumps(data, indent=2, default=_json_default, allow_nan=True) + "\n"
    write_atomic(path, lambda f: f.write(text.encode()))


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_config(path: str | os.PathLike[str], config: Mapping[str, Any]) -> bool:
    """Write config as TOML to path, unless path holds exactly that already; whether it wrote."""
    text = tomli_w.dumps(without_none(config)).encode()
    try:
        if Path(path).read_bytes() == text:
            return False
    except OSError:
        pass
    write_atomic(path, lambda f: f.write(text))
    return True


def without_none(value):
    """TOML has no null: drop None values (unset options) at every depth."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [without_none(v) for v in value]
    return value.item() if hasattr(value, "item") else value


class CsvLog:
    """A table that grows by rows: kept in memory, appended to its CSV file.

    Appending keeps the cost of saving a generation proportional to its new rows, not to
    the whole table. Each append is one write() of whole lines, so a killed process leaves
    whole rows. The columns are the rows' keys in order of first appearance, or what
    `order` makes of them; when a new row brings a new column, the file is rewritten whole
    (once per new column, not per row).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, columns: Iterable[str] | None = None,
                 order: Callable[[list[str]], list[str]] | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.rows: list[dict[str, Any]] = []
        self._keys = dict.fromkeys(columns or ())
        self._order = order or (lambda keys: keys)
        self._written: tuple[list[str], int] | None = None  # (columns, rows) in the file
        self.dtypes: dict[str, Any] = {}  # for frame(), e.g. {"copied_from": "Int64"}

    @property
    def columns(self) -> list[str]:
        return self._order(list(self._keys))

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Rows for the table, written at the next flush()."""
        rows = list(rows)
        self.rows += rows
        for row in rows:
            self._keys.update(dict.fromkeys(row))

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        self.add(rows)
        self.flush()

    def flush(self, rewrite: bool = False) -> None:
        """Bring the file up to date: append the rows it lacks, or rewrite it whole."""
        if self.path is None:
            return
        columns = self.columns
        if not rewrite and self._written is not None and self._written[0] == columns:
            start = self._written[1]
            if start < len(self.rows):
                _append(self.path, self._lines(self.rows[start:], columns))
        else:
            text = _csv_lines([columns]) if columns else b""
            write_atomic(self.path, lambda f: f.write(text + self._lines(self.rows, columns)))
        self._written = (columns, len(self.rows))

    def _lines(self, rows, columns):
        return _csv_lines([format_cell(cell) for cell in self._cells(row, columns)] for row in rows)

    def _cells(self, row: Mapping[str, Any], columns: list[str]) -> list[Any]:
        """A row's values as written, in column order."""
        return [row.get(c) for c in columns]

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame(columns=self.columns) if self._keys else pd.DataFrame()
        return pd.DataFrame(self.rows, columns=self.columns).astype(self.dtypes)


def _csv_lines(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _append(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as error:
        error.filename = error.filename or str(path)
        raise
    finally:
        os.close(fd)


def metric_cells(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar metrics of a trial's outcome (not its status, fitness, reason or timing)."""
    return {k: v for k, v in outcome.items()
            if k not in ("status", "fitness", "reason", "seconds", "worker") and np.isscalar(v)}


def gene_cells(space: Space, genome: Mapping[str, Any]) -> dict[str, Any]:
    """Gene values as table cells: numbers and names as they are, layer lists as text
    (with their depth)."""
    row = space.row(genome)
    for name, value in genome.items():
        if isinstance(value, (int, float, str, bool)):
            row[name] = value
    return row


class TrialsTable(CsvLog):
    """trials.csv: the leading columns, the gene columns (genes: Space.columns()), the
    metrics (the known ones first), then the trailing columns."""

    def __init__(self, path: str | os.PathLike[str] | None = None, leading: Iterable[str] = LEADING_COLUMNS,
                 trailing: Iterable[str] = TRAILING_COLUMNS, genes: Iterable[str] = ()) -> None:
        self.leading, self.trailing, self.genes = list(leading), list(trailing), list(genes)
        super().__init__(path, order=self._ordered)

    def _ordered(self, keys):
        fixed = set(self.leading) | set(self.trailing) | set(self.genes)
        rest = [k for k in keys if k not in fixed]
        metrics = [c for c in METRIC_COLUMNS if c in rest] + [c for c in rest if c not in METRIC_COLUMNS]
        present = set(keys)
        return ([c for c in self.leading if c in present] + [g for g in self.genes if g in present]
                + metrics + [c for c in self.trailing if c in present])

    def _cells(self, row, columns):
        cells = super()._cells(row, columns)
        if row.get("status") in FAILED_STATUSES and "fitness" in columns:
            cells[columns.index("fitness")] = None  # no score: empty, not -inf
        return cells

    def frame(self) -> pd.DataFrame:
        """The table as load() reads it back from trials.csv: failed trials' fitness NaN, the
        layers genes' cells and parents as tuples of ints."""
        return typed_trials(super().frame(), self._layers_genes())

    def _layers_genes(self) -> list[str]:
        """The layers genes among the gene columns: each is followed by its depth column
        (Space.columns(): n_layers, or <gene>_n_layers with several), and its cells are
        sizes like "256-128" as many as that column says."""
        found = []
        for name, depth in zip(self.genes, self.genes[1:]):
            if depth not in ("n_layers", f"{name}_n_layers"):
                continue
            if all(isinstance(row.get(name), str) and LAYERS_CELL.fullmatch(row[name])
                   and row[name].count("-") + 1 == row.get(depth) for row in self.rows):
                found.append(name)
        return found


# A layers gene's cell in trials.csv: its sizes joined by "-", like "256-128".
LAYERS_CELL = re.compile(r"\d+(-\d+)*")


def layer_sizes(cell: Any) -> tuple[int, ...]:
    """A layers gene's cell (256-128 as written; a single layer may read back as a number)."""
    if isinstance(cell, tuple):
        return cell
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        cell = int(cell)
    return tuple(int(part) for part in str(cell).split("-"))


def parent_ids(cell: Any) -> tuple[int, ...]:
    """The trial ids in a parents cell ("3;5", "" or NaN when none)."""
    if isinstance(cell, tuple):
        return cell
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return ()
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        cell = int(cell)
    return tuple(int(part) for part in str(cell).split(";") if part.strip())


def typed_trials(trials: pd.DataFrame, layers_genes: Iterable[str] = ()) -> pd.DataFrame:
    """A trials table with its cells as Python reads them: fitness NaN for failed trials
    (FAILED_STATUSES), the `layers_genes` columns and `parents` as tuples of ints, the text
    columns (reason, operator, worker) as str, "" when empty."""
    trials = trials.copy()
    if "fitness" in trials and "status" in trials:
        fitness = pd.to_numeric(trials["fitness"], errors="coerce").astype(float)
        trials["fitness"] = fitness.mask(trials["status"].isin(FAILED_STATUSES))
    for name in layers_genes:
        if name in trials:
            trials[name] = pd.Series([layer_sizes(cell) for cell in trials[name]], index=trials.index, dtype=object)
    if "parents" in trials:
        trials["parents"] = pd.Series([parent_ids(cell) for cell in trials["parents"]], index=trials.index,
                                      dtype=object)
    for column in ("operator", "reason", "worker"):
        if column in trials:
            trials[column] = trials[column].fillna("").astype(str)
    return trials



def curve_rows(trial_id: int, curve: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """curves.csv rows (trial_id, epoch, one column per metric) of one learning curve."""
    names = list(curve)
    return [{"trial_id": trial_id, "epoch": epoch, **dict(zip(names, values))}
            for epoch, values in enumerate(zip(*(curve[n] for n in names)), start=1)]
