"""The chosen genome as best.json reports it: which score, over how many trainings, and
whether those trainings took part in choosing it.

A score that chose a genome is biased upward (the winner's curse: of many noisy scores the
highest is mostly luck), so the score reported is the mean of the confirmation trainings,
fresh seeds that took no part in the choice, with its confidence interval; the mean of the
trainings that chose it and the best single training are reported beside it, labelled so,
and `optimism` is how far the choosing mean was above the fresh one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import results
from .noise import estimate
from .pareto import objective_values
from .results import plain_genome
from .scores import GenomeScores
from .strategies.racing import Races, Racing


def chosen_record(scores: GenomeScores, races: Races, settings: Racing, rows: Sequence[Mapping[str, Any]],
                  names: Sequence[str], direction: str) -> dict[str, Any]:
    """best.json's record of the genome the search chooses now ({} before there is one)."""
    genome = races.choose(scores)
    if genome is None or not math.isfinite(scores.mean(genome)):
        return {}
    trials = scores.trial_ids[genome]
    fresh = {k: scores.scores[genome][k] for k in races.fresh(genome, scores)}
    choosing = {k: f for k, f in scores.scores[genome].items() if k not in fresh}
    chose = estimate(choosing.values(), settings.confidence)
    best_index = max(choosing, key=lambda k: (choosing[k], -k))
    first = rows[scores.first_trial[genome]]
    record: dict[str, Any] = {
        "trial_id": scores.first_trial[genome], "generation": first["generation"],
        "fitness": chose.mean, "params": plain_genome(dict(zip(names, scores.keys[genome]))),
        "seed": first["seed"], "genome_id": genome, "trainings": scores.n(genome),
        "chosen_on": {**chose.record(), "seed_indices": sorted(choosing)},
        "best_training": {"trial_id": trials[best_index], "fitness": choosing[best_index]},
        "noise": noise_record(scores, races, settings),
    }
    if fresh:
        honest = estimate(fresh.values(), settings.confidence)
        record.update(fitness=honest.mean, validation={**honest.record(), "seed_indices": sorted(fresh)},
                      optimism=chose.mean - honest.mean, confirmation_seeds=[rows[trials[k]]["seed"] for k in
                                                                             sorted(fresh)])
    if direction == "minimize":
        record.update(value=-record["fitness"], direction=direction)
    record["summary"] = describe(record)
    return record


# The knee's validation score, named so where val_metric is not one of the objectives.
UNNAMED_SCORE = "validation score (not an objective)"


def knee_record(front: Mapping[str, Any], genome: int | None, scores: GenomeScores, races: Races,
                settings: Racing, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """best.json's record of NSGA-II's knee: ParetoFront.best_record's (its `objectives` are
    the values of the one training that put it on the front), and once it is confirmed each
    objective's mean and interval over the confirmation trainings (`objectives_confirmed`);
    `fitness`, `validation` and `optimism` are of the validation score, as chosen_record's.
    genome: the knee's id in `scores`."""
    if not front or genome is None:
        return dict(front)
    trials, first = scores.trial_ids[genome], rows[front["trial_id"]]
    objectives = list(front["objectives"])
    record: dict[str, Any] = {
        **front, "genome_id": genome, "trainings": scores.n(genome),
        "objectives_from": f"trial {front['trial_id']}, the one training that put it on the front",
        "chosen_on": {**estimate([front["fitness"]], settings.confidence).record(),
                      "seed_indices": [first["seed_index"]]},
        "best_training": {"trial_id": front["trial_id"], "fitness": front["fitness"]},
        "noise": noise_record(scores, races, settings),
    }
    fresh = races.fresh(genome, scores)
    confirmed = [k for k in fresh if rows[trials[k]]["status"] == "ok"]
    if fresh:
        record["confirmation_seeds"] = [rows[trials[k]]["seed"] for k in fresh]
        record["confirmation_trials"] = [trials[k] for k in fresh]
    if len(confirmed) < len(fresh):
        record["confirmation_failures"] = len(fresh) - len(confirmed)
    if confirmed:
        values = [objective_values(rows[trials[k]], objectives) for k in confirmed]
        record["objectives_confirmed"] = {name: estimate(column, settings.confidence).record()
                                          for name, column in zip(objectives, zip(*values))}
        honest = estimate([rows[trials[k]]["fitness"] for k in confirmed], settings.confidence)
        record.update(fitness=honest.mean, validation={**honest.record(), "seed_indices": confirmed},
                      optimism=front["fitness"] - honest.mean)
    record["summary"] = describe_knee(record)
    return record


def describe_knee(record: Mapping[str, Any]) -> str:
    """NSGA-II's best.json in words: which training chose the knee, and what its numbers are
    means of."""
    front = record["objectives"]
    chose = (f"the knee of the Pareto front ({record['front_size']} trials), chosen on its one training "
             f"(trial {record['trial_id']})")
    score = "val_metric" if "val_metric" in front else UNNAMED_SCORE
    if "objectives_confirmed" in record:
        confirmed = record["objectives_confirmed"]
        if score not in confirmed:
            confirmed = {**confirmed, score: record["validation"]}
        means = "; ".join(f"{name} {_figure(name, s['mean'])} ± {_figure(name, (s['ci_high'] - s['ci_low']) / 2)}"
                          for name, s in confirmed.items())
        n, confidence = record["validation"]["n"], record["validation"]["confidence"]
        failed = record.get("confirmation_failures", 0)
        return (f"{chose}; means of {n} fresh trainings that took no part in choosing it ({confidence:.0%} CI"
                f"{f', {failed} more failed' if failed else ''}): {means}; its one training's {score} was "
                f"{record['chosen_on']['mean']:.4f} (optimism {record['optimism']:+.4f})")
    values = ", ".join(f"{name} {_figure(name, value)}" for name, value in front.items())
    noise = record["noise"]
    if noise["negligible"]:
        return f"{chose}: {values}, from that training (no seed noise: the objective is declared deterministic)"
    return f"{chose}: {values}, from that training (not yet confirmed on fresh seeds: optimistic)"


def _figure(name: str, value: float) -> str:
    return f"{value:.4f}" if name in ("val_metric", UNNAMED_SCORE) else f"{value:.4g}"


def describe(record: Mapping[str, Any]) -> str:
    """best.json's score in words: what it is a mean of, and whether those trainings chose it."""
    chose = record["chosen_on"]
    best = record["best_training"]["fitness"]
    if "validation" in record:
        v = record["validation"]
        if v["n"] == 1:  # the budget left one confirmation training: no interval
            fresh = "(1 fresh training that took no part in choosing it, too few for an interval)"
        else:
            half = (v["ci_high"] - v["ci_low"]) / 2
            fresh = (f"± {half:.4f} ({v['confidence']:.0%} CI, mean of {v['n']} fresh trainings that took no "
                     f"part in choosing it)")
        return (f"score {v['mean']:.4f} {fresh}; it was chosen on the mean of {chose['n']} "
                f"training{'s' if chose['n'] != 1 else ''}, {chose['mean']:.4f}; its best single training "
                f"scored {best:.4f}")
    noise = record["noise"]
    if noise["mode"] == "none" or noise["negligible"]:
        why = ("seed noise off (noise = 'none')" if noise["mode"] == "none"
               else "no seed noise: the objective is declared deterministic" if noise.get("declared_deterministic")
               else f"seed noise measured negligible (s.d. {noise['sd']:.2g})")
        return (f"score {chose['mean']:.4f}, the mean of {chose['n']} training{'s' if chose['n'] != 1 else ''} "
                f"that chose it ({why}): a score that chose a genome is optimistic where training is noisy")
    return (f"score {chose['mean']:.4f}, the mean of the {chose['n']} training{'s' if chose['n'] != 1 else ''} "
            f"that chose it so far (not yet confirmed on fresh seeds: optimistic)")


def test_scores(objective: Any, capabilities: Any, out_dir: Any, record: Mapping[str, Any],
                confidence: float) -> dict[str, Any]:
    """The chosen genome's test scores, for objectives with a test_score and a test split:
    retrained on each confirmation seed (else its first training's), the mean with its
    interval. The built-in MLP objective also saves the model of the first retraining, as
    out_dir's best_model.npz, named in best.json's "model"."""
    saves = capabilities.saves_model and out_dir is not None
    if not (capabilities.test_split or saves):
        return {}
    seeds = record.get("confirmation_seeds") or [record["seed"]]
    tests: list[dict[str, Any]] = []

    def save(path: Any) -> None:
        tests.append(objective.test_score(record["params"], seeds[0], save=path))

    if saves:
        results.save_atomic(out_dir / results.BEST_MODEL, save)
    if capabilities.test_split:
        tests += [objective.test_score(record["params"], seed) for seed in seeds[len(tests):]]
    return {**test_summary(tests, confidence), **({"model": results.BEST_MODEL} if saves else {})}


def test_summary(tests: Sequence[Mapping[str, Any]], confidence: float) -> dict[str, Any]:
    """best.json's test entries from test_score results, one per retraining: each metric's
    mean, and for several retrainings `test` (the test_metric's mean, interval and n)."""
    tests = [{k: v for k, v in t.items() if k != "status"} for t in tests]
    if not tests:
        return {}
    if len(tests) == 1:
        return dict(tests[0])
    model = {f"model_{k}": v for k, v in tests[0].items() if k in ("test_metric", "test_loss")}
    summary: dict[str, Any] = {}
    for name in tests[0]:
        values = [t.get(name) for t in tests]
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
        if len(numbers) == len(values):
            summary[name] = sum(numbers) / len(numbers)
    metric = [t.get("test_metric") for t in tests]
    if all(isinstance(v, (int, float)) and math.isfinite(v) for v in metric):
        summary["test"] = estimate(metric, confidence).record()  # type: ignore[arg-type]
    return {**summary, **model}


def noise_record(scores: GenomeScores, races: Races, settings: Racing) -> dict[str, Any]:
    """best.json's `noise`: the mode, the seed noise measured (s.d. and its degrees of freedom),
    whether it was found negligible, and `declared_deterministic` where the objective said so."""
    sd, dof = scores.noise()
    record = {"mode": settings.noise, "sd": _number(sd), "dof": dof, "negligible": races.negligible}
    return {**record, "declared_deterministic": True} if races.deterministic else record


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None
