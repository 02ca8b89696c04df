"""The results directory: trials and generations tables, learning curves, best.json, checkpoint.

Every file is written whole to a temporary file in the same directory and moved into place
with os.replace, so a crash (or SIGKILL) at any moment leaves either the old or the new
version of a file, never a truncated one.

    DIR/trials.csv         one row per evaluation
    DIR/generations.csv    one row per generation
    DIR/curves.csv         per-epoch learning curves, keyed by trial_id
    DIR/best.json          the best trial's parameters, scores and test score
    DIR/pareto.csv         multi-objective search: the Pareto front of all trials, knee marked
    DIR/fronts.csv         multi-objective search: that front after every generation
    DIR/checkpoint.pkl     the full search state after the last complete generation
    DIR/config.toml        the effective configuration the search was started with
    DIR/pbt_schedule.csv   population-based training: the best member's hyperparameters per step
    DIR/pbt_lineage.csv    population-based training: which member each member copied, per step
"""

import json
import math
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import tomli_w

TRIALS = "trials.csv"
GENERATIONS = "generations.csv"
CURVES = "curves.csv"
BEST = "best.json"
PARETO = "pareto.csv"
FRONTS = "fronts.csv"
CHECKPOINT = "checkpoint.pkl"
CONFIG = "config.toml"
PBT_SCHEDULE = "pbt_schedule.csv"
PBT_LINEAGE = "pbt_lineage.csv"
CHECKPOINT_FORMAT = "hpsearch-checkpoint-1"

# Trial-table columns before the genes and after them; metric columns go in between.
LEADING_COLUMNS = ["trial_id", "generation", "status", "fitness", "cached"]
TRAILING_COLUMNS = ["seed", "seconds", "parents", "operator", "reason", "worker"]
METRIC_COLUMNS = ["val_metric", "val_loss", "train_loss", "epochs_run", "epochs_trained", "rung",
                  "rung0_score", "n_params", "train_seconds", "latency"]
# Population-based training's trials table: members instead of genomes' lineage.
PBT_LEADING_COLUMNS = ["trial_id", "generation", "member", "status", "fitness", "cached"]
PBT_TRAILING_COLUMNS = ["epochs_total", "seed", "seconds", "parents", "operator", "copied_from", "reason"]


@dataclass
class SearchResult:
    """What a search leaves behind, as returned by GeneticSearch.run() and load()."""

    trials: pd.DataFrame
    generations: pd.DataFrame
    curves: pd.DataFrame
    best: dict
    out_dir: Path | None = None
    pareto: pd.DataFrame = field(default_factory=pd.DataFrame)  # empty unless multi-objective
    fronts: pd.DataFrame = field(default_factory=pd.DataFrame)
    schedule: pd.DataFrame = field(default_factory=pd.DataFrame)  # empty unless PBT
    lineage: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def best_params(self):
        return self.best.get("params")

    @property
    def best_score(self):
        return self.best.get("fitness")

    @property
    def test_score(self):
        return self.best.get("test_metric")

    @property
    def finished(self):
        return bool(self.best.get("finished"))


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomic(path, write, durable=False):
    """Call write(file_object) on a temporary file, then move it onto `path`.

    The rename alone survives a killed process; durable=True also fsyncs, for surviving an
    operating-system crash. Only the checkpoint needs that: the tables are rewritten from it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide results from other users
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_csv(path, frame):
    write_atomic(path, lambda f: frame.to_csv(f, index=False))


def write_json(path, data):
    text = json.dumps(data, indent=2, default=_json_default, allow_nan=True) + "\n"
    write_atomic(path, lambda f: f.write(text.encode()))


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_config(path, config):
    text = tomli_w.dumps(_without_none(config))
    write_atomic(path, lambda f: f.write(text.encode()))


def _without_none(value):
    """TOML has no null: drop None values (unset options) at every depth."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def write_checkpoint(out_dir, state):
    payload = {"format": CHECKPOINT_FORMAT, **state}
    write_atomic(Path(out_dir) / CHECKPOINT, lambda f: pickle.dump(payload, f, protocol=5), durable=True)


def read_checkpoint(out_dir):
    path = Path(out_dir) / CHECKPOINT
    try:
        with open(path, "rb") as f:
            state = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception as error:
        raise ValueError(f"{path}: unreadable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an hpsearch checkpoint")
    return state


def curves_frame(curves):
    """Long table (trial_id, epoch, metric columns) from {trial_id: {name: [values]}}."""
    rows = []
    for trial_id, curve in curves.items():
        names = list(curve)
        for epoch, values in enumerate(zip(*(curve[n] for n in names)), start=1):
            rows.append({"trial_id": trial_id, "epoch": epoch, **dict(zip(names, values))})
    return pd.DataFrame(rows, columns=None if rows else ["trial_id", "epoch"])


def remove_stale_temporaries(out_dir):
    """Delete temporary files left by a writer that was killed mid-write."""
    for name in (TRIALS, GENERATIONS, CURVES, BEST, CHECKPOINT, CONFIG, PARETO, FRONTS,
                 PBT_SCHEDULE, PBT_LINEAGE):
        for stale in Path(out_dir).glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


def is_results_dir(path):
    path = Path(path)
    return any((path / name).exists() for name in (TRIALS, CHECKPOINT, BEST))


def load(out_dir):
    """Read a finished or interrupted results directory back into a SearchResult."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise ValueError(f"{out_dir}: no such results directory")
    if not is_results_dir(out_dir):
        raise ValueError(f"{out_dir}: not an hpsearch results directory (no {TRIALS})")

    def table(name):
        path = out_dir / name
        if not path.exists() or path.stat().st_size == 0:
            return pd.DataFrame()
        # Lineage, reasons and workers are text even when every cell is empty (not NaN floats).
        text = ("parents", "operator", "reason", "worker")
        header = pd.read_csv(path, nrows=0).columns
        frame = pd.read_csv(path, dtype={c: str for c in text if c in header})
        for column in text:
            if column in frame:
                frame[column] = frame[column].fillna("")
        return frame

    best = {}
    if (out_dir / BEST).exists():
        best = json.loads((out_dir / BEST).read_text())
    return SearchResult(trials=table(TRIALS), generations=table(GENERATIONS), curves=table(CURVES),
                        best=best, out_dir=out_dir, pareto=table(PARETO), fronts=table(FRONTS),
                        schedule=table(PBT_SCHEDULE), lineage=table(PBT_LINEAGE))


def finite_or_none(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None
