"""Write the golden tables: four experiments run at seed 0 with small budgets.

These files were produced before the engine's redesign (issue 12); test_golden.py reruns the
same configs and checks every column but the timings is identical. Regenerate them only on
purpose (a deliberate change of results), with: python tests/golden/regenerate.py
"""

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
    config["parallel"] = {"n_jobs": 1}
    config.pop("out_dir", None)
    path = directory / f"{name}.toml"
    path.write_text(tomli_w.dumps(config))
    return path


def tables(name: str) -> tuple[str, ...]:
    return ("trials.csv", "generations.csv", "curves.csv", "best.json", *EXTRA_TABLES.get(name, ()))


def run(name: str, work: Path) -> Path:
    from hpsearch.cli import main

    out = work / name
    status = main(["run", str(small_config(name, work)), "--out", str(out), "--quiet", "--no-plots"])
    if status:
        raise SystemExit(f"{name}: hpsearch run exited {status}")
    return out


if __name__ == "__main__":
    import shutil
    import tempfile

    names = sys.argv[1:] or list(BUDGETS)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = run(name, Path(tmp))
            (HERE / name).mkdir(exist_ok=True)
            for table in tables(name):
                shutil.copyfile(out / table, HERE / name / table)
            print(name, "written")
