"""The results directory: trials and generations tables, learning curves, best.json, checkpoint.

What each file is called and how it is read back (load, SearchResult). How files are
written (whole and atomically, or tables by appending rows) is hpsearch.writing; its names
are re-exported here, so that `results` is the one name for a results directory's files.

    DIR/trials.csv         one row per evaluation
    DIR/generations.csv    one row per generation
    DIR/curves.csv         per-epoch learning curves, keyed by trial_id
    DIR/best.json          the best trial's parameters, scores and test score
    DIR/best_model.npz     the built-in MLP objective: the best trial's (PBT: member's) network (netcore.load)
    DIR/pareto.csv         multi-objective search: the Pareto front of all trials, knee marked
    DIR/fronts.csv         multi-objective search: that front after every generation
    DIR/checkpoint.jsonl   the search state after the last complete generation (data only)
    DIR/config.toml        the effective configuration the search was started with
    DIR/pbt_schedule.csv   population-based training: the best member's hyperparameters per step
    DIR/pbt_lineage.csv    population-based training: which member each member copied, per step
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import UserError
from .formatting import fmt
from .status import FAILED_STATUSES  # noqa: F401  (re-exported: the tables' failed statuses)
from .writing import (  # noqa: F401  (re-exported: see the module docstring)
    LAYERS_CELL,
    LEADING_COLUMNS,
    METRIC_COLUMNS,
    PBT_LEADING_COLUMNS,
    PBT_TRAILING_COLUMNS,
    TRAILING_COLUMNS,
    CsvLog,
    TrialsTable,
    curve_rows,
    format_cell,
    gene_cells,
    layer_sizes,
    metric_cells,
    parent_ids,
    save_atomic,
    typed_trials,
    without_none,
    write_atomic,
    write_config,
    write_csv,
    write_json,
)

if TYPE_CHECKING:
    pass

TRIALS = "trials.csv"
GENERATIONS = "generations.csv"
CURVES = "curves.csv"
BEST = "best.json"
BEST_MODEL = "best_model.npz"
PARETO = "pareto.csv"
FRONTS = "fronts.csv"
GENOMES = "genomes.csv"  # one row per genome: the statistics over its trainings
CHECKPOINT = "checkpoint.jsonl"
LEGACY_CHECKPOINT = "checkpoint.pkl"  # pickle: refused, never read
LOCK = ".hpsearch.lock"
LOG = "hpsearch.log"  # what the run reported (hpsearch.logs)
CONFIG = "config.toml"
PBT_SCHEDULE = "pbt_schedule.csv"
PBT_LINEAGE = "pbt_lineage.csv"


@dataclass(repr=False)
class SearchResult:
    """What a search leaves behind, as returned by GeneticSearch.run() and load().

    Printed, a short summary. The properties read best.json's entries.

    Attributes:
        trials: one row per training (trials.csv; failed trials' fitness is NaN, layer
            sizes and parents are tuples of ints; `seed_index`: which shared seed it used).
        genomes: one row per genome (genomes.csv): n, mean and s.d. of its trainings, the
            seed indices they used, its race status, whether it is the chosen one.
        generations: one row per generation (generations.csv): best so far, evaluations,
            elapsed seconds.
        curves: per-epoch learning curves of the trainings (curves.csv), when recorded.
        best: best.json: the best trial's params, fitness, test score, stop reason, ...
        out_dir: the results directory (None for a search without one).
        pareto: the Pareto front of all trials (multi-objective searches; else empty).
        fronts: each generation's front (multi-objective searches; else empty).
        schedule: the best member's hyperparameters per step (population-based training).
        lineage: which member copied which (population-based training).
    """

    trials: pd.DataFrame
    generations: pd.DataFrame
    curves: pd.DataFrame
    best: dict
    out_dir: Path | None = None
    genomes: pd.DataFrame = field(default_factory=pd.DataFrame)
    pareto: pd.DataFrame = field(default_factory=pd.DataFrame)  # empty unless multi-objective
    fronts: pd.DataFrame = field(default_factory=pd.DataFrame)
    schedule: pd.DataFrame = field(default_factory=pd.DataFrame)  # empty unless PBT
    lineage: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def best_params(self) -> dict[str, Any] | None:
        return self.best.get("params")

    @property
    def best_score(self) -> float | None:
        return self.best.get("fitness")

    @property
    def test_score(self) -> float | None:
        return self.best.get("test_metric")

    @property
    def finished(self) -> bool:
        return bool(self.best.get("finished"))

    @property
    def best_model_path(self) -> Path | None:
        """The best trial's trained model (a netcore estimator: netcore.load(path).predict(X)),
        where the objective saves one (the built-in MLP objective) in a results directory."""
        if self.out_dir is None or not self.best.get("model"):
            return None
        return Path(self.out_dir) / self.best["model"]

    def __repr__(self) -> str:
        state = "finished" if self.finished else "unfinished"
        parts = [f"{len(self.trials)} trials, {len(self.generations)} generations, {state}"]
        score = self.best_score
        if self.best_params is not None and isinstance(score, (int, float)):
            test = self.test_score
            parts.append(f"best fitness {score:.4g} (trial {self.best.get('trial_id')})"
                         + (f", test {test:.4g}" if isinstance(test, (int, float)) else ""))
            params = ", ".join(f"{k}={fmt(v)}" for k, v in self.best_params.items())
            parts.append(f"params {{{_clip(params, 200)}}}")
        else:
            parts.append("no successful trial")
        if self.out_dir is not None:
            parts.append(f"out_dir={str(self.out_dir)!r}")
        return f"SearchResult({'; '.join(parts)})"

    __str__ = __repr__


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def plain(value: Any) -> Any:
    """JSON-friendly copy of a parameter value (tuples of layer sizes become lists)."""
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def plain_genome(genome: Mapping[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in genome.items()}


# Everything hpsearch writes in a results directory (plots/ and pbt/ are folders).
RESULT_FILES = (TRIALS, GENERATIONS, CURVES, GENOMES, BEST, BEST_MODEL, CHECKPOINT, CONFIG, PARETO, FRONTS,
                PBT_SCHEDULE, PBT_LINEAGE)


def refuse_links(out_dir: str | os.PathLike[str], names: Iterable[str] = (
        *RESULT_FILES, LEGACY_CHECKPOINT, LOCK, LOG, "plots", "pbt", "pbt/weights")) -> None:
    """UserError if any of `names` in out_dir is a symbolic link: a results directory is
    written and pruned in place, and following a planted link would write or delete elsewhere
    (out_dir itself may be a link: the user chose where it points)."""
    for name in names:
        path = Path(out_dir) / name
        if path.is_symlink():
            raise UserError(f"{path}: is a symbolic link; hpsearch never writes or deletes through links "
                            f"inside a results directory")


def remove_stale_temporaries(out_dir: str | os.PathLike[str]) -> None:
    """Delete temporary files left by a writer that was killed mid-write."""
    for name in RESULT_FILES:
        for stale in Path(out_dir).glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


def is_results_dir(path: str | os.PathLike[str]) -> bool:
    path = Path(path)
    return any((path / name).exists() for name in (TRIALS, CHECKPOINT, LEGACY_CHECKPOINT, BEST))


def read_config(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The effective config (config.toml) of a results directory; {} when it has none or it
    cannot be read."""
    try:
        return tomllib.loads((Path(out_dir) / CONFIG).read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


def config_table(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The table `name` of a config read from a file ({} when absent or not a table)."""
    table = config.get(name)
    return table if isinstance(table, Mapping) else {}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested tables as one level, keys joined by dots: {"a": {"b": 1}} -> {"a.b": 1}."""
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def read_table(path: str | os.PathLike[str], **options: Any) -> pd.DataFrame:
    """A CSV file as a frame (pandas.read_csv options); empty when the file is missing or empty."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame()
    return pd.read_csv(path, **options)


def layers_genes(config: Mapping[str, Any], trials: pd.DataFrame) -> list[str]:
    """The trials columns of layers genes: from the config's [space] table, or without one,
    the columns followed by their depth column (n_layers, <gene>_n_layers) whose cells are
    layer sizes like 256-128, as many as the depth says."""
    table = config.get("space")
    if isinstance(table, Mapping) and table:
        from .space import LayersGene, Space

        try:
            return [gene.name for gene in Space.from_config(table) if isinstance(gene, LayersGene)]
        except (ValueError, TypeError):
            pass
    names = list(trials.columns)
    found = []
    for name, depth in zip(names, names[1:]):
        if depth not in ("n_layers", f"{name}_n_layers") or trials.empty:
            continue
        cells = trials[name].astype(str)
        if cells.str.fullmatch(LAYERS_CELL.pattern).all() and (
                cells.str.count("-") + 1 == pd.to_numeric(trials[depth], errors="coerce")).all():
            found.append(name)
    return found


def load(out_dir: str | os.PathLike[str]) -> SearchResult:
    """Read a finished or interrupted results directory back into a SearchResult.

    Args:
        out_dir: the results directory a search wrote.

    Returns:
        The SearchResult, its trials as typed_trials makes them (failed trials' fitness NaN,
        layer sizes and parents tuples).

    Raises:
        UserError: (a ValueError) no such directory, or not an hpsearch results directory.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise UserError(f"{out_dir}: no such results directory")
    if not is_results_dir(out_dir):
        raise UserError(f"{out_dir}: not an hpsearch results directory (no {TRIALS})")

    def table(name):
        # Lineage, reasons and workers are text even when every cell is empty (not NaN floats).
        text = ("parents", "operator", "reason", "worker")
        frame = read_table(out_dir / name, dtype={c: str for c in text})
        for column in text:
            if column in frame:
                frame[column] = frame[column].fillna("")
        return frame

    best: dict[str, Any] = {}
    if (out_dir / BEST).exists():
        best = json.loads((out_dir / BEST).read_text())
    trials = table(TRIALS)
    layers = layers_genes(read_config(out_dir), trials)
    trials = typed_trials(trials, layers)
    # pareto.csv and genomes.csv have layer sizes too.
    pareto = typed_trials(read_table(out_dir / PARETO), layers)
    genomes = typed_trials(table(GENOMES), layers)
    return SearchResult(trials=trials, generations=table(GENERATIONS), curves=table(CURVES),
                        best=best, out_dir=out_dir, genomes=genomes, pareto=pareto, fronts=table(FRONTS),
                        schedule=table(PBT_SCHEDULE), lineage=table(PBT_LINEAGE))


def finite_or_none(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None
