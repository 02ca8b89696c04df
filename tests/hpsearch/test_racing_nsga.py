"""NSGA-II under noise = "auto": the knee of the Pareto front is chosen on its one training
and confirmed by `confirm` more trainings on fresh seeds (strategies/racing.py's
confirm_only, phases.py, chosen.knee_record), with each objective's mean and interval."""

import functools
import json
import re

import numpy as np
import pandas as pd
import pytest

from hpsearch import GeneticSearch, IntGene, Space
from hpsearch.cli import main
from hpsearch.config import parse_config
from hpsearch.noise import shared_seed
from hpsearch.report import REPORT, write_report
from hpsearch.strategies.racing import Racing

from .objectives import NoisyFront, front_space

OBJECTIVES = ["val_metric", "n_params"]
IN_PROCESS = {"n_jobs": 1, "in_process": True}


def noisy_search(seed=0, **settings):
    settings = {"population": 8, "max_evaluations": 40, "tournament_size": 2, "objectives": OBJECTIVES,
                "parallel": IN_PROCESS, **settings}
    return GeneticSearch(front_space(), NoisyFront(), seed=seed, quiet=True, **settings)


def test_the_knee_gets_confirm_fresh_trainings_within_the_budget_and_best_json_is_their_means(tmp_path):
    out = tmp_path / "run"
    result = noisy_search(seed=1, out_dir=out).run()
    trials, generations, best = result.trials, result.generations, result.best
    trained = trials[~trials["cached"]]
    # Every training counts: 37 for the search, 3 kept for the confirmation.
    assert len(trained) == 40 == best["evaluations"] == generations["evaluations"].sum()
    assert best["stop_reason"] == "max_evaluations (40: 37 for the search, the rest kept for the confirmation)"
    assert set(generations["phase"].iloc[:-1]) == {"search"} and generations["phase"].iloc[-1] == "confirmation"
    # No races: every genome but the knee was trained once, on seed index 0.
    confirmation = trained[trained["operator"] == "confirmation"]
    assert len(confirmation) == 3 and (trained["seed_index"] > 0).sum() == 3
    assert confirmation["seed_index"].tolist() == [1, 2, 3]
    assert (confirmation["seed"] == confirmation["seed_index"].map(lambda k: shared_seed(1, int(k)))).all()
    # The knee is chosen on its first training, on the front of the first trainings.
    knee_row = trials.set_index("trial_id").loc[best["trial_id"]]
    assert knee_row["seed_index"] == 0 and best["knee"] and result.pareto.set_index("trial_id").loc[
        best["trial_id"], "knee"]
    genes = ["x", "y", "c"]
    assert (confirmation[genes] == knee_row[genes]).all(axis=None)
    assert best["objectives"] == {"val_metric": knee_row["fitness"], "n_params": knee_row["n_params"]}
    assert best["objectives_from"].startswith(f"trial {best['trial_id']}, the one training")
    # best.json's statistics are those of the confirmation rows of trials.csv.
    for name, column in (("val_metric", "fitness"), ("n_params", "n_params")):
        stats = best["objectives_confirmed"][name]
        assert stats["n"] == 3 and stats["mean"] == pytest.approx(confirmation[column].mean())
        assert stats["sd"] == pytest.approx(confirmation[column].std(ddof=1))
        assert stats["ci_low"] < stats["mean"] < stats["ci_high"] and stats["confidence"] == 0.95
    assert best["fitness"] == pytest.approx(confirmation["fitness"].mean()) == best["validation"]["mean"]
    assert best["validation"]["seed_indices"] == [1, 2, 3] and best["trainings"] == 4
    assert best["optimism"] == pytest.approx(knee_row["fitness"] - best["fitness"])
    assert best["chosen_on"]["n"] == 1 and best["chosen_on"]["mean"] == knee_row["fitness"]
    assert best["confirmation_trials"] == confirmation["trial_id"].tolist()
    assert best["confirmation_seeds"] == confirmation["seed"].tolist()
    assert "means of 3 fresh trainings that took no part in choosing it" in best["summary"]
    assert "val_metric" in best["summary"] and "n_params" in best["summary"]
    written = json.loads((out / "best.json").read_text())
    assert written["objectives_confirmed"] == best["objectives_confirmed"]
    # The confirmation trainings are no new points of the front: the last generation's front
    # is the one before it, and none of them is in pareto.csv or fronts.csv.
    fronts = pd.read_csv(out / "fronts.csv")
    last = generations["generation"].iloc[-1]
    assert (fronts[fronts["generation"] == last]["trial_id"].tolist()
            == fronts[fronts["generation"] == last - 1]["trial_id"].tolist())
    confirmed_ids = set(confirmation["trial_id"])
    assert not confirmed_ids & set(fronts["trial_id"]) and not confirmed_ids & set(
        pd.read_csv(out / "pareto.csv")["trial_id"])


def test_genomes_csv_has_each_objectives_mean_and_sd_over_the_genomes_trainings(tmp_path):
    result = noisy_search(seed=2, out_dir=tmp_path / "run").run()
    genomes = pd.read_csv(tmp_path / "run" / "genomes.csv")
    trained = result.trials[~result.trials["cached"]]
    per_genome = trained.groupby(["x", "y", "c"]).agg(
        n=("fitness", "size"), val_metric_mean=("fitness", "mean"), val_metric_sd=("fitness", "std"),
        n_params_mean=("n_params", "mean"), n_params_sd=("n_params", "std")).reset_index()
    merged = result.genomes.merge(per_genome, on=["x", "y", "c"], suffixes=("", "_trials"))
    assert len(merged) == len(genomes) == len(result.genomes)
    for column in ("n", "val_metric_mean", "val_metric_sd", "n_params_mean", "n_params_sd"):
        assert np.allclose(merged[column], merged[f"{column}_trials"], equal_nan=True), column
    knee = genomes[genomes["incumbent"]]
    assert len(knee) == 1 and knee["genome_id"].item() == result.best["genome_id"] and knee["n"].item() == 4
    assert knee["n_params_sd"].notna().all() and genomes.loc[genomes["n"] == 1, "n_params_sd"].isna().all()


def test_the_confirmation_is_kept_out_of_max_training_epochs_too():
    # A training's cost known from its genome (the epochs gene), as the budget charges it.
    space = Space([*front_space(), IntGene("epochs", 2, 6)])
    result = GeneticSearch(space, NoisyFront(), population=8, max_training_epochs=120, tournament_size=2,
                           objectives=OBJECTIVES, parallel=IN_PROCESS, quiet=True, seed=3).run()
    trained = result.trials[~result.trials["cached"]]
    assert trained["epochs_trained"].sum() == result.generations["epochs"].sum() <= 120
    assert (trained["operator"] == "confirmation").sum() == 3 and result.best["validation"]["n"] == 3
    assert "the rest kept for the confirmation" in result.best["stop_reason"]


def test_the_confirmation_is_kept_out_of_time_limit_too():
    # The reserve is measured: confirm times the longest training so far (about 0.02 s here).
    result = GeneticSearch(front_space(), NoisyFront(delay=0.02), population=8, max_evaluations=None,
                           time_limit=1.0, tournament_size=2, objectives=OBJECTIVES, parallel=IN_PROCESS,
                           quiet=True, seed=3).run()
    assert re.fullmatch(r"time_limit \(1 s: 0\.\d+ s for the search, the rest kept for the confirmation\)",
                        result.best["stop_reason"])
    assert result.generations["phase"].iloc[-1] == "confirmation" and result.best["validation"]["n"] == 3


def test_noise_none_trains_every_genome_once_and_reports_the_knee_as_before():
    result = noisy_search(seed=1, racing=Racing(noise="none")).run()
    trained = result.trials[~result.trials["cached"]]
    assert len(trained) == 40 and (result.trials["seed_index"] == 0).all()
    assert set(result.generations["phase"]) == {"search"}
    best = result.best
    knee = result.pareto[result.pareto["knee"]]
    assert best["trial_id"] == knee["trial_id"].item() and best["fitness"] == knee["val_metric"].item()
    assert not {"objectives_confirmed", "validation", "summary", "genome_id"} & set(best)


def test_a_deterministic_objective_is_not_confirmed():
    def clean(params, seed):
        return NoisyFront()(params, 0)

    clean.deterministic = True
    result = GeneticSearch(front_space(), clean, population=8, max_evaluations=40, tournament_size=2,
                           objectives=OBJECTIVES, parallel=IN_PROCESS, quiet=True).run()
    assert (result.trials["seed_index"] == 0).all() and (~result.trials["cached"]).sum() == 40
    assert "declared deterministic" in result.best["summary"] and "objectives_confirmed" not in result.best


def test_results_are_the_same_for_any_n_jobs(assert_same_results):
    one = noisy_search(seed=4).run()
    two = noisy_search(seed=4, parallel={"n_jobs": 2}).run()
    assert_same_results(one, two)
    assert one.best["objectives_confirmed"] == two.best["objectives_confirmed"]


def test_a_search_interrupted_before_the_confirmation_resumes_as_an_uninterrupted_one(tmp_path,
                                                                                      assert_same_results):
    settings = {"population": 6, "max_evaluations": 30, "seed": 5}
    whole = noisy_search(**settings).run()
    phases = whole.generations["phase"]
    last_bred = whole.generations["generation"][phases == "search"].max()
    assert phases.iloc[-1] == "confirmation" and last_bred == len(phases) - 2

    def stop(generation, search):  # ends the search after the last breeding generation, as Ctrl-C would
        if generation["generation"] == last_bred:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        noisy_search(out_dir=tmp_path / "split", callbacks=[stop], **settings).run()
    resumed = noisy_search(out_dir=tmp_path / "split", **settings).run()
    assert_same_results(resumed, whole)


@pytest.mark.slow
def test_a_search_killed_during_the_confirmation_resumes_as_an_uninterrupted_one(tmp_path, kill_and_resume,
                                                                                  assert_same_results):
    search = functools.partial(GeneticSearch, front_space(), NoisyFront(delay=0.25), seed=5, quiet=True,
                               population=6, max_evaluations=30, tournament_size=2, objectives=OBJECTIVES,
                               n_jobs=2)
    whole = search(out_dir=tmp_path / "whole").run()
    bred = int((whole.generations["phase"] == "search").sum())
    assert list(whole.generations["phase"]) == ["search"] * bred + ["confirmation"]
    # Killed as soon as the last breeding generation is saved: while the confirmation trains.
    interrupted, resumed = kill_and_resume(search, tmp_path / "killed", rows=bred)
    assert list(interrupted.generations["phase"]) == ["search"] * bred
    assert_same_results(resumed, whole)
    assert resumed.best["objectives_confirmed"] == whole.best["objectives_confirmed"]
    for name in ("pareto.csv", "fronts.csv", "genomes.csv"):
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_config_accepts_racing_auto_with_objectives_and_show_and_report_print_the_summary(tmp_path, capsys):
    for racing in ({}, {"racing": {"noise": "auto", "confirm": 4}}):
        config = parse_config({"dataset": {"name": "digits"}, "search": {"objectives": OBJECTIVES}, **racing})
        assert config.to_dict()["racing"]["noise"] == "auto"
    out = tmp_path / "run"
    best = noisy_search(seed=6, out_dir=out).run().best
    assert main(["show", str(out)]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "means of 3 fresh trainings that took no part in choosing it" in shown
    page = write_report(out, make_plots=False).read_text()
    assert (out / REPORT).exists() and f"{best['objectives_confirmed']['val_metric']['mean']:.4f}" in page


def test_a_finished_search_resumed_with_a_larger_budget_breeds_on_and_confirms_its_knee_again(tmp_path):
    out = tmp_path / "run"
    first = noisy_search(seed=7, out_dir=out, max_evaluations=30).run()
    more = noisy_search(seed=7, out_dir=out, max_evaluations=50).run()
    trained = more.trials[~more.trials["cached"]]
    assert len(trained) == 50 and first.best["finished"] and more.best["finished"]
    assert (more.generations["phase"] == "confirmation").sum() == 2
    confirmations = trained[trained["operator"] == "confirmation"]
    assert len(confirmations) == 6 and confirmations["seed_index"].is_unique
    # The new knee's statistics are of the new confirmation alone, on seeds unused before it.
    last = confirmations[confirmations["generation"] == confirmations["generation"].max()]
    assert more.best["confirmation_trials"] == last["trial_id"].tolist()
    assert more.best["validation"]["n"] == 3 and min(more.best["validation"]["seed_indices"]) == 4
    assert more.best["objectives_confirmed"]["n_params"]["mean"] == pytest.approx(last["n_params"].mean())
