"""What the benchmark scripts share: the search-quality benchmark's space and data, where results
go, and the RESULTS.md writer (with the sections of bench_search.py and bench_fidelity.py).

Imported as a top-level module: the scripts run as `python benchmarks/<script>.py`, which puts
benchmarks/ on sys.path. It imports no benchmark script, so none of them imports another
through it.
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd

from hpsearch import MLPObjective
from hpsearch.datasets import load_dataset, scale_splits, split_dataset
from hpsearch.space import CategoricalGene, FloatGene, IntGene, LayersGene, Space

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

# bench_fidelity.py's method names.
PLAIN, FAST = "plain GA", "multi-fidelity GA"


# Data sets the search benchmarks know (benchmarks/README.md says which ones may decide
# settings and which only report).
DATASETS = ("digits", "fashion-mnist-10k", "breast-cancer", "diabetes", "fashion-mnist-5k", "digits-5k-space",
            "fashion-test-3k")
# Issue 24's search-quality tasks (benchmarks/README.md, "Noise-aware search quality"): declared
# held-out and tuning tasks, each with its own space (task_space) and data (make_objective).
HELD_OUT_TASKS = ("fashion-default-3k", "fashion-narrow-5k", "fashion-tops-4k")
TUNING_TASKS = ("fashion-test-3k", "fashion-test-narrow", "digits-default", "fashion-test-tops")
TASK_SEEDS = {"fashion-default-3k": range(1000, 1020), "fashion-narrow-5k": range(1000, 1020),
              "fashion-tops-4k": range(1000, 1020), "fashion-test-3k": range(100, 140),
              "fashion-test-narrow": range(0, 40), "digits-default": range(0, 40),
              "fashion-test-tops": range(0, 40)}
TASKS = tuple(dict.fromkeys(DATASETS + HELD_OUT_TASKS + TUNING_TASKS))


def benchmark_space(dataset="digits"):
    """The default six genes, with epochs and widths capped so that 150-evaluation runs over
    five seeds and six methods fit this machine's time; fashion-mnist-5k has a space of its own
    (1-2 layers of 16-256 units, batch 16-512, epochs 2-10, six inits), which the tuning tasks
    digits-5k-space (the digits data) and fashion-test-3k search too (benchmarks/README.md)."""
    if dataset in ("fashion-mnist-5k", "digits-5k-space", "fashion-test-3k"):
        return Space([
            FloatGene("learning_rate", 1e-4, 1.0, log=True),
            FloatGene("momentum", 0.0, 0.99),
            LayersGene("hidden_sizes", 1, 2, 16, 256, log=True),
            IntGene("batch_size", 16, 512, power_of_two=True),
            IntGene("epochs", 2, 10),
            CategoricalGene("init", ("uniform", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform",
                                     "lecun_normal")),
        ])
    return Space([
        FloatGene("learning_rate", 1e-4, 1.0, log=True),
        FloatGene("momentum", 0.0, 0.99),
        LayersGene("hidden_sizes", 1, 3, 8, 256, log=True),
        IntGene("batch_size", 8, 512, power_of_two=True),
        IntGene("epochs", 2, 20),
        CategoricalGene("init", ("zeros", "normal", "uniform", "xavier_normal", "xavier_uniform",
                                 "he_normal", "he_uniform", "lecun_normal")),
    ])


def narrow_space():
    """Issue 24's narrow space: learning rate, momentum, 1-2 layers of 16-256 units, batch size,
    2-10 epochs, and every netcore init, `zeros` and `normal` included."""
    return Space([
        FloatGene("learning_rate", 1e-4, 1.0, log=True),
        FloatGene("momentum", 0.0, 0.99),
        LayersGene("hidden_sizes", 1, 2, 16, 256, log=True),
        IntGene("batch_size", 16, 512, power_of_two=True),
        IntGene("epochs", 2, 10),
        CategoricalGene("init", ("zeros", "normal", "uniform", "xavier_normal", "xavier_uniform",
                                 "he_normal", "he_uniform", "lecun_normal")),
    ])


def task_space(task):
    """The space each task searches: issue 24's tasks as declared, the others benchmark_space's."""
    if task in ("fashion-default-3k", "digits-default"):
        from hpsearch.mlp import default_space

        return default_space()
    if task in ("fashion-narrow-5k", "fashion-tops-4k", "fashion-test-narrow", "fashion-test-tops"):
        return narrow_space()
    return benchmark_space(task)


# Fashion-MNIST's upper-body classes: T-shirt/top, Pullover, Dress, Coat, Shirt.
TOPS = (0, 2, 3, 4, 6)
HELD_OUT_SPLIT_SEED = 24


def held_out_rows(official):
    """{task: rows of the official Fashion-MNIST training set} of issue 24's held-out tasks: the
    training images in neither fashion-mnist-5k's nor -10k's subset, permuted with seed 24 and
    dealt out in turn (6,000, 9,000, then 7,000 of the upper-body classes), so that no image is
    in two tasks, in an earlier task's training or validation split, or in the official test set."""
    from hpsearch.datasets.splits import stratified_subset

    earlier = np.union1d(stratified_subset(official.y, 15_000, 0), stratified_subset(official.y, 7_000, 1))
    free = np.random.default_rng(HELD_OUT_SPLIT_SEED).permutation(
        np.setdiff1d(np.arange(len(official.y)), earlier))
    rest = free[15_000:]
    return {"fashion-default-3k": free[:6_000], "fashion-narrow-5k": free[6_000:15_000],
            "fashion-tops-4k": rest[np.isin(official.y[rest], TOPS)][:7_000]}


def held_out_splits(task):
    """One held-out task's splits: 3,000 / 1,500 / 1,500 (default-3k), 5,000 / 2,000 / 2,000
    (narrow-5k), 4,000 / 1,500 / 1,500 (tops-4k, labels renumbered 0-4), stratified with seed 24."""
    from hpsearch.datasets import Dataset

    official = load_dataset("fashion-mnist")
    rows = held_out_rows(official)[task]
    y = official.y[rows]
    if task == "fashion-tops-4k":
        y = np.searchsorted(TOPS, y)
    data = Dataset(name=task, X=official.X[rows], y=y, task="classification", value_range=official.value_range)
    holdout = {"fashion-default-3k": 1_500, "fashion-narrow-5k": 2_000, "fashion-tops-4k": 1_500}[task] / len(rows)
    return scale_splits(split_dataset(data, holdout, holdout, seed=HELD_OUT_SPLIT_SEED), "fixed")


def make_objective(dataset):
    """The benchmark's data: fixed splits (split seed 0) shared by every method and seed."""
    if dataset in HELD_OUT_TASKS:
        return MLPObjective(held_out_splits(dataset))
    if dataset == "fashion-test-narrow":
        return MLPObjective(fashion_test_splits())
    if dataset == "fashion-test-tops":
        return MLPObjective(fashion_test_tops_splits())
    if dataset == "digits-default":
        return make_objective("digits")
    if dataset in ("digits", "digits-5k-space"):
        data = load_dataset("digits")
        return MLPObjective(scale_splits(split_dataset(data, 0.15, 0.15, seed=0), "fixed"))
    if dataset == "fashion-mnist-10k":
        # 10,000 training and 5,000 validation images, the full official test set.
        data = load_dataset("fashion-mnist", n_train=15_000, seed=0)
        return MLPObjective(scale_splits(split_dataset(data, val_fraction=1 / 3, seed=0), "fixed"))
    if dataset == "fashion-mnist-5k":
        # 5,000 training and 2,000 validation images drawn with seed 1, the official test set.
        data = load_dataset("fashion-mnist", n_train=7_000, seed=1)
        return MLPObjective(scale_splits(split_dataset(data, val_fraction=2 / 7, seed=1), "fixed"))
    if dataset == "fashion-test-3k":
        return MLPObjective(fashion_test_splits())
    if dataset in ("breast-cancer", "diabetes"):
        return _sklearn_objective(dataset)
    raise ValueError(f"unknown benchmark data set {dataset!r}")


def fashion_test_splits():
    """The tuning task fashion-test-3k (benchmarks/README.md), made of the official Fashion-MNIST
    test set only, so that it shares no image with the training and validation images of
    fashion-mnist-5k and -10k: 6,000 of its 10,000 images drawn with seed 2, split 3,000 / 1,500
    / 1,500 (stratified), pixels scaled to [0, 1]."""
    import numpy as np

    from hpsearch.datasets import Dataset

    official = load_dataset("fashion-mnist")
    rows = np.random.default_rng(2).permutation(len(official.X_test))[:6_000]
    data = Dataset(name="fashion-test-3k", X=official.X_test[rows], y=official.y_test[rows],
                   task="classification", value_range=official.value_range)
    return scale_splits(split_dataset(data, 0.25, 0.25, seed=2), "fixed")


def fashion_test_tops_splits():
    """The tuning task fashion-test-tops (benchmarks/README.md): fashion-tops-4k's five upper-body
    classes, but from the official test set (so no image of any held-out task): all 5,000 of them,
    labels renumbered 0-4, split 2,000 / 1,500 / 1,500 (stratified, seed 2), pixels scaled to [0, 1]."""
    from hpsearch.datasets import Dataset

    official = load_dataset("fashion-mnist")
    rows = np.flatnonzero(np.isin(official.y_test, TOPS))
    data = Dataset(name="fashion-test-tops", X=official.X_test[rows], y=np.searchsorted(TOPS, official.y_test[rows]),
                   task="classification", value_range=official.value_range)
    return scale_splits(split_dataset(data, 0.3, 0.3, seed=2), "fixed")


def _sklearn_objective(dataset):
    """scikit-learn's bundled breast_cancer (binary, accuracy) or diabetes (regression, R²),
    split 70/15/15 with seed 0, features standardised."""
    import numpy as np
    from sklearn import datasets as sk

    from hpsearch.datasets import Dataset

    if dataset == "breast-cancer":
        X, y = sk.load_breast_cancer(return_X_y=True)
        data = Dataset(name=dataset, X=X.astype(np.float32), y=y, task="classification")
        return MLPObjective(scale_splits(split_dataset(data, 0.15, 0.15, seed=0), "standard"))
    X, y = sk.load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()  # disease progression 25-346: standardised, as a user would (R² is unchanged)
    data = Dataset(name=dataset, X=X.astype(np.float32), y=y.astype(np.float32), task="regression")
    splits = scale_splits(split_dataset(data, 0.15, 0.15, seed=0, stratify=False), "standard")
    return MLPObjective(splits, task="regression", metric="r2")


def trivial(params, seed):
    """An objective that costs nothing: what bench_engine.py and bench_dask.py time the engine with."""
    return {"fitness": -abs(params["learning_rate"] - 0.01) - abs(params["momentum"] - 0.9)}


def warm_worker(_):
    """A task that loads what a trial needs into a worker process, to start a pool before timing."""
    import hpsearch.mlp  # noqa: F401  (netcore, scikit-learn, threadpoolctl with it)
    time.sleep(0.2)


def summarise(summary):
    """Mean ± std over seeds per method, as printed and as written into RESULTS.md."""
    columns = [c for c in summary.columns if c.startswith("best_at_")] + ["test", "seconds",
                                                                           "evaluations_per_s"]
    table = summary.groupby("method", sort=False)[columns].agg(["mean", "std"])
    formatted = pd.DataFrame(index=table.index)
    for column in columns:
        mean, std = table[(column, "mean")], table[(column, "std")].fillna(0)
        digits = 1 if column in ("seconds", "evaluations_per_s") else 4
        formatted[column] = [f"{m:.{digits}f} ± {s:.{digits}f}" for m, s in zip(mean, std)]
    return formatted


def paired_table(summary, reference="tpe"):
    """Per budget and method: mean ± standard error of the best validation score over seeds,
    and against `reference` on the same seeds the mean difference ± its standard error and
    the seeds won, tied and lost."""
    rows = []
    budgets = sorted((c for c in summary.columns if c.startswith("best_at_")), key=lambda c: int(c[8:]))
    for dataset, table in summary.groupby("dataset", sort=False):
        by_seed = table.pivot(index="seed", columns="method")
        for column in budgets:
            values = by_seed[column]
            for method in values.columns:
                mine = values[method].replace(-np.inf, np.nan)
                row = {"dataset": dataset, "budget": int(column[8:]), "method": method,
                       "mean": mine.mean(), "se": mine.std() / np.sqrt(mine.count())}
                if reference in values.columns and method != reference:
                    gap = mine - values[reference].replace(-np.inf, np.nan)
                    row.update(vs_reference=gap.mean(), vs_se=gap.std() / np.sqrt(gap.count()),
                               won=int((gap > 0).sum()), tied=int((gap == 0).sum()), lost=int((gap < 0).sum()))
                rows.append(row)
    return pd.DataFrame(rows)


def paired_markdown(table, reference="tpe"):
    lines = [f"| budget | method | best validation, mean ± s.e. | − {reference}, mean ± s.e. "
             "| seeds won / tied / lost |", "|---:|---|---|---|---|"]
    for row in table.itertuples():
        against = (f"{row.vs_reference:+.4f} ± {row.vs_se:.4f} | {int(row.won)} / {int(row.tied)} / {int(row.lost)}"
                   if hasattr(row, "vs_reference") and pd.notna(row.vs_reference) else "| ")
        lines.append(f"| {row.budget} | {row.method} | {row.mean:.4f} ± {row.se:.4f} | {against} |")
    return "\n".join(lines)


def rounds_markdown(summary, reference="tpe"):
    """bench_rounds.py's table: best after each number of rounds, paired with `reference`."""
    rounds = sorted(int(c.rsplit("_", 1)[1]) for c in summary.columns if c.startswith("best_after_"))
    lines = [f"| data set | rounds | method | best validation, mean ± s.e. | − {reference}, mean ± s.e. "
             "| seeds won / tied / lost |", "|---|---:|---|---|---|---|"]
    for dataset, rows in summary.groupby("dataset", sort=False):
        by_seed = rows.pivot(index="seed", columns="method")
        for r in rounds:
            values = by_seed[f"best_after_{r}"].replace(-np.inf, np.nan)
            for method in values.columns:
                mine = values[method]
                against = " | "
                if method != reference and reference in values:
                    gap = mine - values[reference]
                    against = (f"{gap.mean():+.4f} ± {gap.std() / np.sqrt(gap.count()):.4f} | "
                               f"{int((gap > 0).sum())} / {int((gap == 0).sum())} / {int((gap < 0).sum())}")
                lines.append(f"| {dataset} | {r} | {method} | {mine.mean():.4f} ± "
                             f"{mine.std() / np.sqrt(mine.count()):.4f} | {against} |")
    return "\n".join(lines)


def markdown_table(frame):
    header = ["method", *frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([str(index), *map(str, row)]) + " |" for index, row in frame.iterrows()]
    return "\n".join(lines)


def fidelity_report(summary):
    """bench_fidelity.py's report of its summary rows, as printed and as written into RESULTS.md."""
    lines = []
    for dataset, table in summary.groupby("dataset", sort=False):
        columns = ["best_validation", "test", "epochs", "trainings", "full_trainings", "seconds"]
        stats = table.groupby("method", sort=False)[columns].agg(["mean", "std"])
        lines += [f"{dataset}: {table['seed'].nunique()} seeds, mean ± std", "",
                  "| method | best validation | test | epochs | trainings | full trainings | seconds |",
                  "|---|---|---|---|---|---|---|"]
        for method, row in stats.iterrows():
            cells = [f"{row[(c, 'mean')]:.4f} ± {row[(c, 'std')]:.4f}" for c in ("best_validation", "test")]
            cells += [f"{row[(c, 'mean')]:.0f} ± {row[(c, 'std')]:.0f}"
                      for c in ("epochs", "trainings", "full_trainings", "seconds")]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
        by_seed = table.pivot(index="seed", columns="method")
        for method in stats.index if FAST in stats.index else ():
            if method == FAST:
                continue
            epochs = (by_seed[("epochs", FAST)] / by_seed[("epochs", method)]).mean()
            gap = by_seed[("best_validation", FAST)] - by_seed[("best_validation", method)]
            test_gap = by_seed[("test", FAST)] - by_seed[("test", method)]
            lines.append(f"multi-fidelity against {method}: {epochs:.0%} of the epochs; best validation "
                         f"{gap.mean():+.4f} ± {gap.std():.4f} (level or better in {int((gap >= 0).sum())} "
                         f"of {len(gap)} seeds), test {test_gap.mean():+.4f} ± {test_gap.std():.4f}")
        lines.append("")
    return lines


def write_results_md(engine_lines=None):
    """Regenerate RESULTS.md from every result CSV present (and the engine figures of the
    latest run that measured them, kept in results/engine.txt)."""
    engine_file = RESULTS / "engine.txt"
    if engine_lines:
        engine_file.write_text("\n".join(engine_lines) + "\n")
    elif engine_file.exists():
        engine_lines = engine_file.read_text().splitlines()
    lines = ["# Benchmark results", "",
             "Generated by `benchmarks/bench_search.py` from `benchmarks/results/search_*_summary.csv`;",
             "see benchmarks/README.md for how each contestant runs. Mean ± std over seeds; `best_at_k`:",
             "the best validation score after k evaluations; `test`: the final best, retrained once and",
             "scored on the test split; `seconds`: wall time of one run on one core.", ""]
    for path in sorted(RESULTS.glob("search_*_summary.csv")):
        summary = pd.read_csv(path)
        if path.name == "search_quick_summary.csv":
            continue
        dataset = summary["dataset"].iloc[0]
        image = path.name.replace("_summary.csv", ".png")
        lines += [f"## {dataset}: {int(summary['evaluations'].max())} evaluations, "
                  f"{summary['seed'].nunique()} seeds ({summary['seed'].min()}–{summary['seed'].max()})", "",
                  markdown_table(summarise(summary)), ""]
        if "tpe" in set(summary["method"]):
            lines += ["Paired with TPE on the same seeds:", "", paired_markdown(paired_table(summary)), ""]
        lines += [f"![best so far](results/{image})", ""]
    rounds = RESULTS / "rounds_summary.csv"
    if rounds.exists():
        lines += ["## Rounds of 8 parallel evaluations (`bench_rounds.py`)", "",
                  "TPE asks 8 trials per round with `constant_liar=True`; the GA's generation 0 (10 genomes) "
                  "takes two rounds, every later generation one.", "", rounds_markdown(pd.read_csv(rounds)), ""]
    fidelity = RESULTS / "fidelity_summary.csv"
    if fidelity.exists():
        lines += ["## Multi-fidelity GA against the plain GA (`bench_fidelity.py`)", "",
                  "The multi-fidelity GA's budget is 40 % of the training epochs the plain GA used "
                  "with the same seed (never exceeded); its generation 0 screens 30 genomes for a "
                  "population of 10, and `plain GA, initial_size 30` is the plain GA with that same "
                  "generation 0. `epochs`: training epochs summed over all trainings.", "",
                  *fidelity_report(pd.read_csv(fidelity))]
    if engine_lines:
        lines += ["## Engine overhead and parallel speedup (same run)", "", "```", *engine_lines, "```", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
