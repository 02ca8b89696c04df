"""The Dask backend: a real LocalCluster of worker processes on loopback gives the results of a
local run, receives the data once, survives workers killed mid-trial, caps BLAS threads and
enforces timeouts; the config and command line choose it."""

import logging
import os
import socket
import textwrap

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

from hpsearch import GeneticSearch  # noqa: E402
from hpsearch.cli import main  # noqa: E402
from hpsearch.cluster import KEEP_REPLICAS, WORKER_DIED  # noqa: E402
from hpsearch.config import ConfigError, apply_overrides, parse_config  # noqa: E402
from hpsearch.datasets import load_dataset, scale_splits, split_dataset  # noqa: E402
from hpsearch.space import CategoricalGene, FloatGene, IntGene, LayersGene, Space  # noqa: E402

from .objectives import (  # noqa: E402
    KillsItsWorker,
    ScatterProbe,
    blas_probe,
    bowl,
    raises_where_it_kills,
    spinner,
    toy_space,
)


@pytest.fixture(scope="module")
def cluster(loopback):
    """Two single-threaded worker processes on loopback, retrying nothing on worker death
    (as the search's own "local" cluster), whose memory manager keeps replicas but runs every
    50 ms (not 2 s), so a replica it dropped would show: (scheduler address, client)."""
    amm_often = {"distributed.scheduler.active-memory-manager.interval": "50ms"}
    with dask.config.set({**KEEP_REPLICAS, **amm_often}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address=":0", silence_logs=logging.CRITICAL,
                                     scheduler_kwargs={"allowed_failures": 0}) as local, \
            distributed.Client(local) as client:
        yield local.scheduler_address, client


def worker_pids(client):
    return set(client.run(os.getpid).values())


def tiny_mlp_space():
    return Space([FloatGene("learning_rate", 1e-3, 0.5, log=True), LayersGene("hidden_sizes", 1, 2, 8, 32),
                  IntGene("batch_size", 32, 128, power_of_two=True), IntGene("epochs", 2, 3),
                  CategoricalGene("init", ("he_uniform", "xavier_normal"))])


@pytest.mark.slow
def test_mlp_search_on_dask_equals_a_local_run_and_gets_the_data_once(cluster, assert_same_results):
    address, client = cluster
    splits = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
    # In-process, and on every thread of the cluster (n_jobs=-1) at once.
    runs = {backend: GeneticSearch(tiny_mlp_space(), ScatterProbe(splits), population=6, generations=2,
                                   seed=3, n_jobs=1 if backend == "loky" else -1, backend=backend,
                                   in_process=backend == "loky",
                                   scheduler=address if backend == "dask" else None, quiet=True).run()
            for backend in ("loky", "dask")}
    local, dask = runs["loky"].trials, runs["dask"].trials
    assert len(local) >= 12 and (local["status"] == "ok").all()
    assert_same_results(dask, local, ignore=["unpickled"])
    assert runs["dask"].best == runs["loky"].best

    trained = dask[~dask["cached"]]
    # Each worker process unpickled the objective (1.3 MB of digits) once, not once per trial.
    assert (trained["unpickled"] == 1).all() and len(trained) > 2 * len(worker_pids(client))
    hosts_pids = trained["worker"].str.rsplit(":", n=1, expand=True)
    assert (hosts_pids[0] == socket.gethostname()).all()
    assert set(hosts_pids[1].astype(int)) <= worker_pids(client)
    assert (dask.loc[dask["cached"], "worker"] == "").all()
    assert set(local.loc[~local["cached"], "worker"]) == {f"{socket.gethostname()}:{os.getpid()}"}


def test_the_local_cluster_keeps_the_broadcast_objective_on_every_worker(loopback):
    from hpsearch.cluster import DaskCluster

    cluster = DaskCluster(bowl, "local", n_jobs=2)
    cluster.start()
    try:
        policies = cluster.client.run_on_scheduler(
            lambda dask_scheduler: [type(p).__name__ for p in dask_scheduler.extensions["amm"].policies])
        assert policies == []  # not ReduceReplicas, which would drop all but one copy
        future = cluster._objective_future()
        assert len(cluster.client.who_has([future])[future.key]) == 2
    finally:
        cluster.close()


@pytest.mark.slow
def test_a_worker_killed_mid_trial_changes_nothing(cluster, tmp_path, assert_same_results):
    address, client = cluster
    # Seed 3 breeds one trial with c == "a", y < 0.3: it kills its worker the first time.
    killed = GeneticSearch(toy_space(), KillsItsWorker(tmp_path), population=8, generations=2, seed=3,
                           backend="dask", scheduler=address, quiet=True).run()
    local = GeneticSearch(toy_space(), bowl, population=8, generations=2, seed=3, quiet=True).run()
    assert len(list(tmp_path.iterdir())) == 1  # a worker did die
    assert (killed.trials["status"] == "ok").all()
    assert_same_results(killed.trials, local.trials)
    client.wait_for_workers(2, timeout=30)  # the nanny restarts it


@pytest.mark.slow
def test_the_data_is_sent_again_when_the_only_worker_holding_it_dies(tmp_path, assert_same_results, loopback):
    # scheduler = "local" with n_jobs = 1: the search's own one-worker LocalCluster.
    killed = GeneticSearch(toy_space(), KillsItsWorker(tmp_path), population=8, generations=2, seed=3,
                           n_jobs=1, backend="dask", scheduler="local", quiet=True).run()
    local = GeneticSearch(toy_space(), bowl, population=8, generations=2, seed=3, quiet=True).run()
    assert len(list(tmp_path.iterdir())) == 1
    assert_same_results(killed.trials, local.trials)


@pytest.mark.slow
def test_a_trial_that_always_kills_its_worker_fails_as_in_a_local_run(cluster, tmp_path, assert_same_results):
    address, _ = cluster
    dask = GeneticSearch(toy_space(), KillsItsWorker(tmp_path, always=True), population=8, generations=2,
                         seed=3, backend="dask", scheduler=address, quiet=True).run().trials
    # A local run with loky records a worker's death as a failure too; raising instead is
    # the same outcome, minus the seconds a broken process pool takes to recover.
    local = GeneticSearch(toy_space(), raises_where_it_kills, population=8, generations=2, seed=3,
                          quiet=True).run().trials
    failed = dask[dask["status"] != "ok"]
    assert list(failed["status"]) == ["failed"] and list(failed["reason"]) == [WORKER_DIED]
    assert list(local.loc[local["status"] != "ok", "trial_id"]) == list(failed["trial_id"])
    assert_same_results(dask, local, ignore=["reason"])


@pytest.mark.slow
def test_blas_threads_are_shared_by_the_workers_of_a_machine(cluster):
    address, _ = cluster
    result = GeneticSearch(toy_space(), blas_probe, population=4, generations=0, seed=0, blas_threads=64,
                           backend="dask", scheduler=address, quiet=True).run()
    # Two one-thread workers on this machine: each trial gets half the cores (not all of them).
    assert set(result.trials["blas_threads"]) == {max(1, min(64, (os.cpu_count() or 1) // 2))}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["dask", "threading"])
def test_timeouts_hold_in_worker_threads(cluster, backend):
    address, _ = cluster
    result = GeneticSearch(toy_space(), spinner, population=6, generations=0, seed=1, n_jobs=2,
                           timeout=0.3, backend=backend, scheduler=address if backend == "dask" else None,
                           quiet=True).run()
    trials = result.trials
    stuck = trials["c"] == "a"
    assert stuck.any() and (~stuck).any()
    assert (trials.loc[stuck, "status"] == "timeout").all()
    assert (trials.loc[stuck, "reason"] == "exceeded the 0.3 s timeout").all()
    assert (trials.loc[stuck, "seconds"] < 5).all() and (trials.loc[~stuck, "status"] == "ok").all()


# -- config and command line ------------------------------------------------------------

def parallel(table, **overrides):
    config = parse_config({"dataset": {"name": "digits"}, "parallel": table})
    return apply_overrides(config, **overrides).parallel


def test_backend_settings_and_overrides():
    assert (parallel({}).backend, parallel({}).scheduler) == ("loky", None)
    assert parallel({"backend": "dask"}).scheduler == "local"
    remote = {"backend": "dask", "scheduler": "tcp://10.0.0.5:8786"}
    assert parallel(remote).scheduler == "tcp://10.0.0.5:8786"
    assert parallel(remote, backend="dask").scheduler == "tcp://10.0.0.5:8786"
    assert (parallel(remote, backend="loky").backend, parallel(remote, backend="loky").scheduler) == ("loky", None)
    assert parallel({}, scheduler="tls://[::1]:8786").backend == "dask"
    assert parallel({}, backend="dask").scheduler == "local"


@pytest.mark.parametrize("table, message", [
    ({"backend": "ray"}, "parallel.backend: unknown value 'ray'"),
    ({"scheduler": "tcp://h:8786"}, "parallel.scheduler: only used with backend = 'dask', not 'loky'"),
    ({"backend": "dask", "scheduler": "h:8786"},
     "parallel.scheduler: expected 'local' or an address like 'tcp://host:8786', got 'h:8786'"),
    ({"backend": "dask", "scheduler": 8786}, "parallel.scheduler: expected a string, got 8786"),
])
def test_bad_backend_settings_name_the_key(table, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace("[", r"\[")):
        parallel(table)


@pytest.mark.slow
def test_backend_is_not_a_setting_so_a_search_resumes_under_another(cluster, tmp_path, assert_same_results):
    address, _ = cluster
    GeneticSearch(toy_space(), bowl, population=6, generations=1, seed=2, quiet=True, out_dir=tmp_path).run()
    resumed = GeneticSearch(toy_space(), bowl, population=6, generations=2, seed=2, quiet=True,
                            out_dir=tmp_path, backend="dask", scheduler=address).run()
    whole = GeneticSearch(toy_space(), bowl, population=6, generations=2, seed=2, quiet=True).run()
    assert_same_results(resumed, whole)
    assert (resumed.trials["generation"] == 2).any()


TINY = """
seed = 1
[dataset]
name = "digits"
[search]
population = 4
generations = 1
[space.learning_rate]
kind = "float"
low = 0.01
high = 0.5
log = true
[space.epochs]
value = 2
"""


@pytest.mark.slow
def test_cli_runs_on_a_local_cluster(tmp_path, capsys, assert_same_results, loopback):
    config = tmp_path / "tiny.toml"
    config.write_text(textwrap.dedent(TINY))
    assert main(["run", str(config), "--out", str(tmp_path / "dask"), "--backend", "dask", "--n-jobs", "2",
                 "--quiet", "--no-plots"]) == 0
    assert main(["run", str(config), "--out", str(tmp_path / "loky"), "--n-jobs", "1", "--quiet",
                 "--no-plots"]) == 0
    dask, local = (pd.read_csv(tmp_path / name / "trials.csv", keep_default_na=False) for name in ("dask", "loky"))
    assert_same_results(dask, local)
    workers = set(dask.loc[~dask["cached"], "worker"])
    assert 1 <= len(workers) <= 2 and f"{socket.gethostname()}:{os.getpid()}" not in workers
    assert 'backend = "dask"' in (tmp_path / "dask" / "config.toml").read_text()
    capsys.readouterr()
    assert main(["run", str(config), "--out", str(tmp_path / "x"), "--scheduler", "nowhere"]) == 2
    assert capsys.readouterr().err.strip() == ("hpsearch: error: parallel.scheduler: expected 'local' or an "
                                               "address like 'tcp://host:8786', got 'nowhere'")
