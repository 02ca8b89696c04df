"""Write the golden tables: four experiments run at seed 0 with small budgets, and the engine's
default search on an objective of plain arithmetic.

The experiment tables were produced before the engine's redesign (issue 12); test_golden.py
reruns the same configs and checks every column but the timings is identical. Every run here
computes with the portable kernels ([parallel] numerics = "portable", the whole process
started with their variables), the one setting under which a training's numbers are the same
on every x86-64 CPU (hpsearch.numerics): so the tables hold on any machine, whatever kernels
its own NumPy and OpenBLAS would pick. Regenerate them only on purpose (a deliberate change of
results), with: python tests/golden/regenerate.py [NAME...]
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import tomli_w

HERE = Path(__file__).resolve().parent
EXPERIMENTS = HERE.parents[1] / "experiments"

# Small budgets for each experiment config (seed 0, one process): a few generations each.
BUDGETS = {
    # breeding "ga" (the plain GA): these tables were made before the model-assisted GA existed.
    "digits": {"search": {"population": 8, "generations": 2}, "breeding": {"strategy": "ga"},
               "budget": {"time_limit": 3600}},
    "fidelity_digits": {"search": {"population": 6, "initial_size": 12}, "breeding": {"strategy": "ga"},
                        "budget": {"max_training_epochs": 300}},
    "multiobjective_digits": {"search": {"population": 8, "generations": 2},
                              "budget": {"time_limit": 3600}},
    "pbt_digits": {"search": {"population": 4, "steps": 3}},
}
# Tables each run leaves, beyond trials.csv, generations.csv and curves.csv.
EXTRA_TABLES = {"multiobjective_digits": ("pareto.csv", "fronts.csv"),
                "pbt_digits": ("pbt_schedule.csv", "pbt_lineage.csv")}
TIMING_COLUMNS = {"seconds", "elapsed", "train_seconds", "latency", "worker"}


def small_config(name: str, directory: Path) -> Path:
    """The experiment's config with the small budget, written into `directory`."""
    config = tomllib.loads((EXPERIMENTS / f"{name}.toml").read_text())
    for table, values in BUDGETS[name].items():
        config.setdefault(table, {}).update(values)
    config["seed"] = 0
    config["parallel"] = {"n_jobs": 1, "numerics": "portable"}
    config.pop("out_dir", None)
    path = directory / f"{name}.toml"
    path.write_text(tomli_w.dumps(config))
    return path


def tables(name: str) -> tuple[str, ...]:
    if name == ENGINE:
        return ("trials.csv", "generations.csv", "best.json")
    return ("trials.csv", "generations.csv", "curves.csv", "best.json", *EXTRA_TABLES.get(name, ()))


# The default search (model-assisted breeding) on engine_objective, from Python.
ENGINE = "engine_default"
NAMES = (*BUDGETS, ENGINE)
ENGINE_SCRIPT = """
import sys
from hpsearch import GeneticSearch
from tests.golden.engine_objective import engine_space, engine_objective
GeneticSearch(engine_space(), engine_objective, seed=0, max_evaluations=40, n_jobs=1, numerics="portable",
              out_dir=sys.argv[1], quiet=True).run()
"""


def run(name: str, work: Path) -> Path:
    """Run `name` into work/name in a new process started with the portable kernels."""
    from hpsearch.numerics import portable_env

    out = work / name
    if name == ENGINE:
        command = [sys.executable, "-c", ENGINE_SCRIPT, str(out)]
    else:
        command = [sys.executable, "-m", "hpsearch", "run", str(small_config(name, work)), "--out", str(out),
                   "--quiet", "--no-plots"]
    done = subprocess.run(command, env={**os.environ, **portable_env()}, cwd=HERE.parents[1],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name}: exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return out


if __name__ == "__main__":
    import shutil
    import tempfile

    names = sys.argv[1:] or list(NAMES)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = run(name, Path(tmp))
            (HERE / name).mkdir(exist_ok=True)
            for table in tables(name):
                shutil.copyfile(out / table, HERE / name / table)
            print(name, "written")
