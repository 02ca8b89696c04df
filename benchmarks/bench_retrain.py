"""Search quality as a user gets it: each method's chosen genome, retrained with fresh seeds.

Issue 24's benchmark (benchmarks/README.md, "Noise-aware search quality" declares its tasks,
seeds and methods). Every method searches with the same number of trainings (`--budgets`; all
its objective calls count, re-evaluations and final races included: the harness counts them
and refuses a run over the budget or one whose own count differs), one at a time ("serial")
and in rounds of 8 ("rounds": at most ceil(budget / 8) rounds). The genome it chose is then
trained `--retrains` times (>= 5) with training seeds no method used, the same ones for every
method, and scored on the validation and the test split. Reported per method: the retrained
validation and test means, the optimism (its reported score - its retrained validation mean),
and the paired difference to every other method over search seeds (mean ± s.e., seeds won /
tied / lost), per task and pooled over the tasks given.

Each (task, mode, budget, method, seed) writes one CSV under --out/<task>/<mode>-<budget>/
<method>/seed-<seed>.csv (one row per retraining) and is skipped when that file exists, so a
long run can be split over sessions or machines and merged by copying the directories; the
report reads every file present. Held-out tasks run only with --held-out.

    python benchmarks/bench_retrain.py --tasks fashion-test-3k --seeds 5 --budgets 60 --modes serial
    python benchmarks/bench_retrain.py --held-out --tasks fashion-narrow-5k        # declared seeds
    python benchmarks/bench_retrain.py --report-only --tasks fashion-test-3k
    python benchmarks/bench_retrain.py --quick
"""

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

import noisy_methods
from common import HELD_OUT_TASKS, RESULTS, TASK_SEEDS, TASKS, make_objective, task_space
from hpsearch.space import CategoricalGene, FloatGene, IntGene, LayersGene, Space
from noisy_methods import ROUND, rounds_limit

RETRAIN_SEED = 777_000  # + 100 x search seed + k: small seeds, where searches draw 63-bit hashes
MODES = {"serial": 1, "rounds": ROUND}
# --quick: digits with tiny nets, so that every method runs both modes in seconds.
QUICK_SPACE = Space([
    FloatGene("learning_rate", 1e-3, 0.5, log=True),
    FloatGene("momentum", 0.0, 0.95),
    LayersGene("hidden_sizes", 1, 2, 8, 32, log=True),
    IntGene("batch_size", 32, 128, power_of_two=True),
    IntGene("epochs", 1, 3),
    CategoricalGene("init", ("zeros", "he_uniform", "xavier_uniform")),
])


class BudgetError(RuntimeError):
    """A method trained more than its budget, or reported a count that is not what it did."""


class CountingObjective:
    """The objective, counting every training and keeping its seed and its seconds (the
    search's time less its trainings' is the method's own overhead). Only the space checks are
    passed on (no test_score: hpsearch then does not retrain its best on the test split)."""

    def __init__(self, objective):
        self.objective = objective
        self.seeds = []
        self.seconds = []

    def __call__(self, params, seed, **options):
        self.seeds.append(int(seed))
        start = time.perf_counter()
        try:
            return self.objective(params, seed, **options)
        finally:
            self.seconds.append(time.perf_counter() - start)

    def check_params(self, names):
        self.objective.check_params(names)

    def check_space(self, space):
        self.objective.check_space(space)


def retrain(objective, params, seed):
    """(validation, test, status) of one training of params: the model a user would deploy,
    scored on both splits (a diverged one predicts from its non-finite outputs as zeros)."""
    import netcore

    with threadpool_limits(limits=1, user_api="blas"):
        model, history = objective.train(params, seed)
    metric = netcore.metrics.get_metric(objective.metric)
    scores = []
    for split in ("val", "test"):
        P, _ = model.forward_with_loss(objective.data[f"X_{split}"], objective.data[f"Y_{split}"])
        scores.append(float(metric(objective.data[f"Y_{split}"], np.nan_to_num(P))))
    return scores[0], scores[1], history.status


def job_path(out, task, mode, budget, method, seed):
    return Path(out) / task / f"{mode}-{budget}" / method / f"seed-{seed}.csv"


def engine_digest():
    """A digest of the installed hpsearch's source: which engine a `ga` result was made by."""
    import hpsearch

    digest = hashlib.sha1()
    root = Path(hpsearch.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def read_results(path, **kwargs):
    """A job's CSV with its engine digest read as text: a hex digest such as 429e90080694 or
    000123456789 would otherwise come back as a number (here inf) and never match."""
    return pd.read_csv(path, dtype={"engine": str}, **kwargs)


def stale_results(jobs, out, engine):
    """The files of `ga` jobs (whatever their --label) present but made by another engine than
    `engine`: skipping them would report an older engine under today's name."""
    stale = []
    for task, mode, budget, method, seed, *_, label in jobs:
        path = job_path(out, task, mode, budget, label, seed)
        if method == "ga" and path.exists():
            made_by = read_results(path, nrows=1).get("engine", pd.Series(["unrecorded"])).iloc[0]
            if made_by != engine:
                stale.append(f"{path} (engine {made_by})")
    return stale


def run_job(task, mode, budget, method, seed, retrains, out, quick=False, label=None):
    """One search and its retrainings, written to job_path (atomically) under the method's
    name or `label` (an engine version's own name for `ga`); returns the path."""
    label = label or method
    space = QUICK_SPACE if quick else task_space(task)
    objective = make_objective(task)
    counting = CountingObjective(objective)
    engine = engine_digest()
    start = time.perf_counter()
    choice = noisy_methods.METHODS[method](space, counting, budget, seed, MODES[mode])
    search_seconds = time.perf_counter() - start
    calls, limit = len(counting.seeds), rounds_limit(budget, MODES[mode])
    if choice.trainings != calls:
        raise BudgetError(f"{method}: reported {choice.trainings} trainings, made {calls}")
    if calls > budget or choice.rounds > limit:
        raise BudgetError(f"{method}: {calls} trainings in {choice.rounds} rounds, over the budget of "
                          f"{budget} in {limit}")
    space.validate(choice.params)
    training_seeds = [RETRAIN_SEED + 100 * seed + k for k in range(retrains)]
    if set(training_seeds) & set(counting.seeds):
        raise BudgetError(f"{method}: searched with a retraining seed")
    rows = []
    for k, training_seed in enumerate(training_seeds):
        begin = time.perf_counter()
        validation, test, status = retrain(objective, choice.params, training_seed)
        rows.append({"task": task, "mode": mode, "budget": budget, "method": label, "seed": seed,
                     "reported": choice.reported, "trainings": calls, "rounds": choice.rounds,
                     "search_seconds": search_seconds, "training_seconds": sum(counting.seconds),
                     "engine": engine, "params": json.dumps(choice.params, default=list),
                     "retrain": k, "training_seed": training_seed, "validation": validation, "test": test,
                     "status": status, "retrain_seconds": time.perf_counter() - begin})
    path = job_path(out, task, mode, budget, label, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    pd.DataFrame(rows).to_csv(partial, index=False)
    os.replace(partial, path)
    return path


def run_jobs(jobs, n_jobs):
    """Run the jobs in n_jobs worker processes (loky, joblib's), largest budget and first seed
    first (an interrupted run then holds whole seeds of every method); every worker
    with PYTHONHASHSEED=0: SMAC3's choices depend on string hashing (same seed, two processes,
    two incumbents), and the benchmark must give the same table when rerun. Returns the
    failures as {job: error}."""
    from joblib.externals.loky import get_reusable_executor

    executor = get_reusable_executor(max_workers=n_jobs, env={"PYTHONHASHSEED": "0"}, reuse=False)
    futures = {job: executor.submit(run_job, *job) for job in sorted(jobs, key=lambda j: (-j[2], j[4]))}
    failures = {}
    for job, future in futures.items():
        try:
            print(f"done: {future.result()}", flush=True)
        except Exception as error:  # one refused or failed run must not lose the others
            failures[job] = f"{type(error).__name__}: {error}"
            print(f"FAILED: {job[:5]}: {failures[job]}", flush=True)
    executor.shutdown(wait=True)
    return failures


# ------------------------------------------------------------------ the report


def per_seed(rows):
    """One row per task, mode, budget, method and seed: the retrained means and the optimism."""
    keys = ["task", "mode", "budget", "method", "seed"]
    if "training_seconds" not in rows:  # results written before the harness timed trainings
        rows = rows.assign(training_seconds=np.nan)
    table = rows.groupby(keys, sort=False).agg(
        reported=("reported", "first"), validation=("validation", "mean"), test=("test", "mean"),
        noise=("validation", "std"), retrains=("retrain", "count"), trainings=("trainings", "first"),
        rounds=("rounds", "first"), search_seconds=("search_seconds", "first"),
        training_seconds=("training_seconds", "first"), retrain_seconds=("retrain_seconds", "sum")).reset_index()
    table["optimism"] = table["reported"] - table["validation"]
    # the method's own seconds per training: its search's time less its trainings'
    table["overhead"] = (table["search_seconds"] - table["training_seconds"]) / table["trainings"]
    return table


def _seconds(values):
    values = pd.Series(values).dropna()
    return f"{values.mean():.3f}" if len(values) else "—"


def _mean_se(values):
    values = pd.Series(values).dropna()
    se = values.std() / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean():.4f} ± {se:.4f}"


def _gap(by_seed, column, a, b):
    """a - b in `column` on the (task, seed)s both ran: {mean, se, won, tied, lost, seeds}."""
    gap = (by_seed[(column, a)] - by_seed[(column, b)]).dropna()
    se = gap.std() / np.sqrt(len(gap)) if len(gap) > 1 else float("nan")
    return {"mean": gap.mean(), "se": se, "won": int((gap > 0).sum()), "tied": int((gap == 0).sum()),
            "lost": int((gap < 0).sum()), "seeds": len(gap)}


def _by_seed(table):
    return table.pivot_table(index=["task", "seed"], columns="method", values=["validation", "test"])


def paired(table, methods):
    """Every pair (a, b) of methods, a before b: a - b on the seeds both ran, per column."""
    by_seed = _by_seed(table)
    rows = []
    for i, a in enumerate(methods):
        for b in methods[i + 1:]:
            row = {"a": a, "b": b}
            for column in ("test", "validation"):
                gap = _gap(by_seed, column, a, b)
                row.update({f"{column}_{k}": v for k, v in gap.items() if k != "seeds"}, seeds=gap["seeds"])
            rows.append(row)
    return pd.DataFrame(rows)


def _versus(by_seed, method, reference):
    """The method's retrained test mean - the reference's, as a table cell."""
    if method == reference or reference not in by_seed["test"]:
        return "—"
    gap = _gap(by_seed, "test", method, reference)
    return f"{gap['mean']:+.4f} ± {gap['se']:.4f} ({gap['won']}/{gap['tied']}/{gap['lost']})"


def report_lines(table, reference="tpe"):
    """Markdown: per task, mode and budget (and pooled over tasks), the methods' table (with
    each method's paired test difference to `reference`) and every paired difference."""
    lines = []
    groups = [((task, mode, budget), rows) for (task, mode, budget), rows
              in table.groupby(["task", "mode", "budget"], sort=False)]
    if table["task"].nunique() > 1:
        groups += [(("pooled over " + ", ".join(table["task"].unique()), mode, budget), rows)
                   for (mode, budget), rows in table.groupby(["mode", "budget"], sort=False)]
    for (task, mode, budget), rows in groups:
        methods = list(dict.fromkeys(rows["method"]))
        by_seed = _by_seed(rows)
        lines += [f"### {task}: {budget} trainings, {mode}, {len(rows[['task', 'seed']].drop_duplicates())} seeds "
                  f"({int(rows['retrains'].min())} retrainings each)", "",
                  f"| method | seeds | reported | retrained validation | retrained test | optimism "
                  f"| test − {reference} (won/tied/lost) | trainings (max) | rounds (max) | search s (mean) "
                  "| own s per training |", "|---|---:|---|---|---|---|---|---:|---:|---:|---:|"]
        for method in methods:
            mine = rows[rows["method"] == method]
            lines.append(f"| {method} | {len(mine)} | {_mean_se(mine['reported'])} | {_mean_se(mine['validation'])} "
                         f"| {_mean_se(mine['test'])} | {_mean_se(mine['optimism'])} "
                         f"| {_versus(by_seed, method, reference)} | {mine['trainings'].max()} "
                         f"| {mine['rounds'].max()} | {mine['search_seconds'].mean():.1f} "
                         f"| {_seconds(mine['overhead'])} |")
        lines += ["", "Paired differences of the retrained means (a − b, mean ± s.e., seeds won / tied / lost):", "",
                  "| a | b | seeds | test | validation |", "|---|---|---:|---|---|"]
        for row in paired(rows, methods).itertuples():
            cells = [f"{getattr(row, c + '_mean'):+.4f} ± {getattr(row, c + '_se'):.4f} ({getattr(row, c + '_won')}"
                     f"/{getattr(row, c + '_tied')}/{getattr(row, c + '_lost')})" for c in ("test", "validation")]
            lines.append(f"| {row.a} | {row.b} | {row.seeds} | {cells[0]} | {cells[1]} |")
        lines.append("")
    return lines


def load_rows(out, tasks, modes, budgets, methods):
    paths = [job_path(out, task, mode, budget, method, "*") for task in tasks for mode in modes
             for budget in budgets for method in methods]
    files = sorted(f for p in paths for f in p.parent.glob(p.name))
    return pd.concat([read_results(f) for f in files], ignore_index=True) if files else pd.DataFrame()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["fashion-test-3k"], choices=TASKS)
    parser.add_argument("--methods", nargs="+", default=list(noisy_methods.DEFAULT_METHODS),
                        help="methods to run; with --report-only also the --label names results are stored under")
    parser.add_argument("--budgets", type=int, nargs="+", default=[60, 150])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--retrains", type=int, default=5)
    parser.add_argument("--seeds", type=int, help="number of search seeds (default: the task's declared seeds)")
    parser.add_argument("--first-seed", type=int)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--held-out", action="store_true", help="allow the declared held-out tasks")
    parser.add_argument("--report-only", action="store_true", help="run nothing; report the CSVs present")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: digits, tiny nets, budget 8 serial and 24 in rounds, 1 seed, 2 retrains")
    parser.add_argument("--label", nargs="+", default=[], metavar="METHOD=NAME",
                        help="store METHOD's results as NAME, e.g. ga=ga-v3 for an engine version")
    parser.add_argument("--reference", default="tpe",
                        help="the method every other is paired with in the methods' table (default tpe)")
    parser.add_argument("--keep-stale", action="store_true",
                        help="keep and report `ga` results made by another hpsearch than the installed one")
    parser.add_argument("--out", type=Path, default=RESULTS / "retrain")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.methods) - set(noisy_methods.METHODS))
    if unknown and not args.report_only:  # a report may name stored labels (ga-v3, say)
        parser.error(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(noisy_methods.METHODS)})")
    held_out = sorted(set(args.tasks) & set(HELD_OUT_TASKS))
    if held_out and not (args.held_out or args.report_only):
        parser.error(f"--tasks: {', '.join(held_out)} held out (benchmarks/README.md); add --held-out to run")
    if args.retrains < (2 if args.quick else 5):
        parser.error(f"--retrains: at least 5 (the issue's rule), got {args.retrains}")
    available, skipped = noisy_methods.available_methods()
    for name in args.methods:
        if name in skipped:
            print(f"skipped: {name} ({skipped[name]})")
    methods = [m for m in args.methods if m in available or m in unknown]
    labels = dict(pair.split("=", 1) for pair in args.label if "=" in pair)
    if len(labels) != len(args.label) or not set(labels) <= set(args.methods):
        parser.error(f"--label: METHOD=NAME for methods given in --methods, got {' '.join(args.label)}")
    plan = [("digits", "serial", 8), ("digits", "rounds", 24)] if args.quick else [
        (task, mode, budget) for task in args.tasks for mode in args.modes for budget in args.budgets]
    jobs = []
    for task, mode, budget in plan:
        if args.quick:
            seeds = [0]
        elif args.seeds is not None or args.first_seed is not None:
            first = TASK_SEEDS.get(task, range(1))[0] if args.first_seed is None else args.first_seed
            seeds = range(first, first + (args.seeds or 1))
        else:
            seeds = TASK_SEEDS.get(task, range(10))
        for method in methods:
            if mode == "rounds" and method in noisy_methods.SERIAL_ONLY:
                print(f"skipped: {method} in rounds (it runs one training at a time)")
                continue
            label = labels.get(method, method)
            jobs += [(task, mode, budget, method, seed, 2 if args.quick else args.retrains, args.out, args.quick,
                      label) for seed in seeds]
    stale = [] if args.keep_stale else stale_results(jobs, args.out, engine_digest())
    if stale:
        sys.exit(f"{len(stale)} `ga` results were made by another hpsearch than the installed one "
                 f"({engine_digest()}), e.g. {stale[0]}: move them away, store this engine's under "
                 "--label ga=NAME, or pass --keep-stale")
    asked = {job[4] for job in jobs}  # the seeds the report is of, where seeds are given
    jobs = [job for job in jobs if not job_path(args.out, *job[:3], job[-1], job[4]).exists()]
    failures = {} if args.report_only else run_jobs(jobs, args.n_jobs)
    tasks = ["digits"] if args.quick else args.tasks
    modes = ["serial", "rounds"] if args.quick else args.modes
    budgets = [8, 24] if args.quick else args.budgets
    rows = load_rows(args.out, tasks, modes, budgets, [labels.get(m, m) for m in methods])
    name = "_".join(tasks)
    if not args.quick and (args.seeds is not None or args.first_seed is not None) and not rows.empty:
        # seeds given: the report is of those alone (a later held-out round beside an earlier one)
        rows = rows[rows["seed"].isin(asked)]
        name += f"_seeds-{min(asked)}-{max(asked)}"
    if rows.empty:
        print("no results yet")
    else:
        table = per_seed(rows)
        table.to_csv(args.out / f"summary_{name}.csv", index=False)
        print("\n".join(report_lines(table, args.reference)))
    if failures:
        sys.exit(f"{len(failures)} runs failed or were refused (see FAILED above)")


if __name__ == "__main__":
    main()
