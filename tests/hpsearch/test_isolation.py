"""Isolation: nothing an objective does ends the search (trials run in a worker process, even
with one job); an interrupted evaluation kills its workers and removes its temporary data;
stale temporary data of killed searches is removed; the local Dask cluster listens on
loopback only."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from hpsearch import GeneticSearch
from hpsearch.evaluate import DATA_DIR_PREFIX, Evaluator, remove_stale_data_dirs
from hpsearch.settings import Parallel
from hpsearch.trial import TrialTimeout, run_trial

from .objectives import (
    KillsItsWorker,
    MemmapProbe,
    SlowWithData,
    bowl,
    exits_on_a,
    hard_exits_on_a,
    ignores_timeout_on_a,
    interrupts_on_a,
    segfaults_on_a,
    swallows_timeout_on_a,
    tiny_mlp_space,
    toy_space,
)

HERE = f"{socket.gethostname()}:{os.getpid()}"
A = {"x": 0.01, "y": 0.7, "n": 64, "c": "a", "layers": (16,)}
B = {**A, "c": "b"}


@pytest.mark.parametrize("objective, timeout, status, reason", [
    (exits_on_a, None, "failed", "SystemExit: 4"),
    (interrupts_on_a, None, "failed", "KeyboardInterrupt: from the objective"),
    (hard_exits_on_a, None, "failed", "worker process died: "),
    (segfaults_on_a, None, "failed", "worker process died: "),
    (swallows_timeout_on_a, 0.3, "timeout", "exceeded the 0.3 s timeout"),
    (ignores_timeout_on_a, 0.3, "timeout", "exceeded the 0.3 s timeout"),
], ids=["sys.exit", "KeyboardInterrupt", "os._exit", "segfault", "swallowed-timeout", "ignored-timeout"])
def test_nothing_an_objective_does_ends_a_one_job_search(objective, timeout, status, reason):
    result = GeneticSearch(toy_space(), objective, population=4, generations=1, seed=3, n_jobs=1,
                           timeout=timeout, quiet=True).run()
    trials = result.trials
    bad = trials["c"] == "a"
    assert bad.any() and (~bad).any()
    assert (trials.loc[bad, "status"] == status).all()
    assert trials.loc[bad, "reason"].str.startswith(reason).all()
    assert (trials.loc[~bad, "status"] == "ok").all() and result.best_params["c"] != "a"
    # Every trial ran in a worker process, none in this one.
    assert HERE not in set(trials["worker"])


@pytest.mark.slow
def test_a_lone_worker_killed_once_changes_nothing(tmp_path, assert_same_results):
    # Seed 3 breeds one trial that SIGKILLs its worker the first time it runs: it reruns in a
    # fresh worker, and the search equals an undisturbed one.
    killed = GeneticSearch(toy_space(), KillsItsWorker(tmp_path), population=8, generations=2, seed=3,
                           n_jobs=1, quiet=True).run()
    undisturbed = GeneticSearch(toy_space(), bowl, population=8, generations=2, seed=3, n_jobs=1,
                                in_process=True, quiet=True).run()
    assert len(list(tmp_path.iterdir())) == 1  # a worker did die
    assert_same_results(killed.trials, undisturbed.trials)


def test_one_worker_gets_the_data_as_a_memory_map(digits_splits):
    result = GeneticSearch(tiny_mlp_space(), MemmapProbe(digits_splits), population=4, generations=0,
                           n_jobs=1, seed=0, quiet=True).run()
    assert (result.trials["fitness"] == 1.0).all() and os.getpid() not in set(result.trials["pid"])


def test_in_process_runs_here_and_lets_keyboard_interrupt_through():
    result = GeneticSearch(toy_space(), exits_on_a, population=4, generations=0, seed=3, n_jobs=1,
                           in_process=True, quiet=True).run()
    assert set(result.trials["worker"]) == {HERE}
    assert (result.trials.loc[result.trials["c"] == "a", "reason"] == "SystemExit: 4").all()
    with Evaluator(interrupts_on_a, n_jobs=1, in_process=True) as evaluator, pytest.raises(KeyboardInterrupt):
        evaluator.evaluate([(B, 0), (A, 1)])
    with pytest.raises(ValueError, match="in_process: expected true or false"):
        Parallel(in_process="yes")


def test_an_objective_that_cannot_reach_a_worker_says_how_to_fix_it():
    lock = threading.Lock()

    def holds_a_lock(params, seed):
        return {"fitness": float(lock.locked())}

    with pytest.raises(ValueError, match=r"^cannot send the objective to a worker process \(TypeError: cannot "
                                         r"pickle '_thread.lock' object\); .* in_process = true$"):
        Evaluator(holds_a_lock, n_jobs=1).evaluate([(A, 0)])
    assert Evaluator(holds_a_lock, n_jobs=1, in_process=True).evaluate([(A, 0)])[0]["status"] == "ok"


@pytest.mark.parametrize("thread", [False, True], ids=["main-thread", "worker-thread"])
def test_a_timeout_is_not_an_exception_and_counts_even_when_caught(thread):
    assert not issubclass(TrialTimeout, Exception)
    outcomes = []

    def run():
        outcomes.extend(run_trial(objective, A, 0, timeout=0.2)
                        for objective in (swallows_timeout_on_a, ignores_timeout_on_a))
        outcomes.append(run_trial(ignores_timeout_on_a, B, 0, timeout=0.2))

    if thread:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    else:
        run()
    assert [o["status"] for o in outcomes] == ["timeout", "timeout", "ok"]
    assert all(o["seconds"] < 5 for o in outcomes)


# -- an interrupted evaluation ------------------------------------------------------------

def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped) is gone too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _wait_for_pids(marker_dir, count, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        files = list(Path(marker_dir).glob("*.pid"))
        if len(files) >= count and all(f.read_text() for f in files):
            return [int(f.read_text()) for f in files]
        time.sleep(0.02)
    raise AssertionError(f"{count} trial(s) did not start within {seconds} s")


def _assert_gone(pids, seconds=5):
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)], "worker processes still run"


class Interrupted(KeyboardInterrupt):
    """As a SIGTERM handler would raise in the main thread."""


def test_an_exception_from_on_result_kills_the_workers_and_removes_the_data(tmp_path):
    seen = {}

    def on_result(index, outcome):
        seen["pids"] = _wait_for_pids(tmp_path, 1)
        raise Interrupted

    with pytest.raises(Interrupted):
        with Evaluator(SlowWithData(tmp_path), n_jobs=2) as evaluator:
            seen["data"] = evaluator._tmpdir
            evaluator.evaluate([(A, 0), (B, 1)], on_result=on_result)
    assert Path(seen["data"]).name.startswith(f"{DATA_DIR_PREFIX}{os.getpid()}-")
    assert not os.path.exists(seen["data"])
    _assert_gone(seen["pids"])


def test_a_signal_during_a_one_job_evaluation_kills_its_worker_and_removes_the_data(tmp_path):
    def interrupt(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGUSR1, interrupt)
    seen = {}

    def send_when_started():
        seen["pids"] = _wait_for_pids(tmp_path, 1)
        os.kill(os.getpid(), signal.SIGUSR1)

    sender = threading.Thread(target=send_when_started, daemon=True)
    try:
        with pytest.raises(Interrupted):
            with Evaluator(SlowWithData(tmp_path), n_jobs=1) as evaluator:
                seen["data"] = evaluator._tmpdir
                sender.start()
                evaluator.evaluate([(A, 0)])
                pytest.fail("the evaluation was not interrupted")
    finally:
        sender.join(35)
        signal.signal(signal.SIGUSR1, lambda *_: None)  # a late one must not end pytest
        signal.signal(signal.SIGUSR1, previous)
    assert not os.path.exists(seen["data"])
    _assert_gone(seen["pids"])
    # The next evaluation starts a fresh worker.
    assert Evaluator(SlowWithData(tmp_path), n_jobs=1).evaluate([(B, 0)])[0]["status"] == "ok"


# -- stale temporary data -------------------------------------------------------------------

def test_stale_data_of_dead_processes_is_removed_and_nothing_else(tmp_path, monkeypatch):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file").write_text("precious")
    temp = tmp_path / "tmp"
    temp.mkdir()
    stale = temp / f"hpsearch-data-{dead.pid}-ab_c9"
    (stale / "sub").mkdir(parents=True)
    (stale / "X_train.npy").write_bytes(b"data")
    (stale / "sub" / "link").symlink_to(outside / "keep")  # inside: rmtree removes the link only
    kept = {
        "live": temp / f"hpsearch-data-{os.getpid()}-xyz",
        "parent": temp / f"hpsearch-data-{os.getppid()}-xyz",
        "link": temp / f"hpsearch-data-{dead.pid}-link",
        "file": temp / f"hpsearch-data-{dead.pid}-file",
        "old name": temp / "hpsearch-data-k2j4_x",
        "other name": temp / f"other-data-{dead.pid}-xyz",
    }
    for name, path in kept.items():
        if name == "link":
            path.symlink_to(outside, target_is_directory=True)
        elif name == "file":
            path.write_text("not a directory")
        else:
            path.mkdir()
    assert remove_stale_data_dirs(str(temp)) == [str(stale)]
    assert not stale.exists() and all(os.path.lexists(path) for path in kept.values())
    assert (outside / "keep" / "file").read_text() == "precious"

    # An evaluator starting up does it too (and names its own copy after its pid).
    (stale / "x").mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with Evaluator(SlowWithData(tmp_path), n_jobs=1) as evaluator:
        assert not stale.exists()
        assert Path(evaluator._tmpdir).parent == temp
        assert Path(evaluator._tmpdir).name.startswith(f"hpsearch-data-{os.getpid()}-")
        mine = evaluator._tmpdir
    assert not os.path.exists(mine) and kept["live"].exists()


# -- the local Dask cluster ---------------------------------------------------------------

def test_the_local_dask_cluster_listens_on_loopback_only(loopback):
    pytest.importorskip("distributed")
    psutil = pytest.importorskip("psutil")
    from hpsearch.cluster import DaskCluster

    cluster = DaskCluster(bowl, "local", n_jobs=1)
    cluster.start()
    try:
        local = cluster._local
        port = int(local.dashboard_link.split(":")[2].split("/")[0])
        listening = [c.laddr for c in psutil.Process().net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert listening and {address.ip for address in listening} == {"127.0.0.1"}
        addresses = [local.scheduler_address, *cluster.client.nthreads()]
        assert all(address.startswith("tcp://127.0.0.1:") for address in addresses)
    finally:
        cluster.close()
