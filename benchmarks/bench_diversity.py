"""Does the default search keep exploring? (issue 24, item 0) On a tuning task: the layer shapes
the default trained from generation 3 on, their coverage of the layer sizes' range (10 bins on
the log scale), and the chosen genome retrained on bench_retrain's fresh seeds.

    nice -n 19 .venv/bin/python benchmarks/bench_diversity.py digits-default 0,1,2,3,4 new

prints one JSON line per seed. Run it again with PYTHONPATH pointing at an older checkout (and
another label) for the same figures of that version; the retraining seeds are bench_retrain's,
so its `ga` rows of the same version are the same genomes' scores.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_retrain import RETRAIN_SEED, CountingObjective, retrain  # noqa: E402
from common import HELD_OUT_TASKS, make_objective, task_space  # noqa: E402
from hpsearch import GeneticSearch  # noqa: E402
from hpsearch.diversity import coverage  # noqa: E402

RETRAINS = 5


def main(task, seeds, label):
    if task in HELD_OUT_TASKS:
        raise SystemExit(f"{task} is a held-out task (benchmarks/README.md): tune on the tuning tasks")
    space, objective = task_space(task), make_objective(task)
    layers = next(gene.name for gene in space if gene.kind == "layers")
    for seed in seeds:
        start = time.perf_counter()
        result = GeneticSearch(space, CountingObjective(objective), max_evaluations=60, seed=seed, n_jobs=1,
                               in_process=True, quiet=True).run()
        trained = result.trials[~result.trials["cached"].astype(bool)]
        shapes = [tuple(v) for v in trained.loc[trained["generation"] > 2, layers]]
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in result.best_params.items()}
        scores = np.array([retrain(objective, params, RETRAIN_SEED + 100 * seed + k)[:2] for k in range(RETRAINS)])
        print(json.dumps({"label": label, "seed": seed, "late": len(shapes), "shapes": len(set(shapes)),
                          "cov10": coverage(space[layers], shapes, bins=10), "depths": len({len(s) for s in shapes}),
                          "reported": float(result.best_score), "val": float(scores[:, 0].mean()),
                          "test": float(scores[:, 1].mean()), "params": params,
                          "seconds": time.perf_counter() - start}, default=list), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], [int(s) for s in sys.argv[2].split(",")], sys.argv[3] if len(sys.argv) > 3 else "ga")
