"""Helpers shared by the whole test suite, handed to tests as fixtures (so no test module
imports another):

    assert_same_results(a, b)       two runs gave the same results, timings aside
    kill_and_resume(search, out, rows)
                                    SIGKILL a search mid-run in a fresh process, then resume it
                                    (rows=0: during generation 0, before any table)
    loopback                        skips a test where 127.0.0.1 is unreachable (a network
                                    namespace with lo down): local servers and Dask need it

Also restores SIGINT where the suite was started with it ignored (see below), and marks slow
the long tests of tests/golden/, a directory whose files are not edited here.
"""

import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]

# A shell without job control starts background commands (`make test &` in a script) with SIGINT
# ignored, and every process they start inherits that: the Ctrl-C tests would then see no
# interruption at all. Catching it here as a terminal delivers it also gives the subprocesses
# the tests start the default handling again (a caught signal is reset on exec, an ignored one
# is not).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The only columns (and best.json keys) allowed to differ between equal runs: measured times
# and the process that ran a trial.
TIMING = ("seconds", "elapsed", "train_seconds", "latency", "worker")
# Result tables besides trials; the multi-objective and PBT ones are empty in other searches.
TABLES = ("generations", "curves", "genomes", "pareto", "fronts", "schedule", "lineage")


def _without(frame, columns):
    return frame.drop(columns=[c for c in columns if c in frame.columns])


def _assert_same_results(a, b, ignore=()):
    """Assert that two runs gave the same results, every column but the timings (and the
    columns named in `ignore`) identical.

    a, b: SearchResult objects (trials, every other table and best are compared) or trials
    tables (pandas DataFrames, compared alone)."""
    leave_out = (*TIMING, *ignore)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(_without(a, leave_out).reset_index(drop=True),
                                      _without(b, leave_out).reset_index(drop=True), obj="trials")
        return
    pd.testing.assert_frame_equal(_without(a.trials, leave_out).reset_index(drop=True),
                                  _without(b.trials, leave_out).reset_index(drop=True), obj="trials")
    for table in TABLES:
        pd.testing.assert_frame_equal(_without(getattr(a, table), leave_out),
                                      _without(getattr(b, table), leave_out), obj=table)
    assert ({k: v for k, v in a.best.items() if k not in leave_out}
            == {k: v for k, v in b.best.items() if k not in leave_out})


# Run in a fresh Python process: the pickled search (a functools.partial) comes on stdin.
KILLED_RUN = """
import pickle, sys
sys.path.insert(0, sys.argv[1])
search = pickle.load(sys.stdin.buffer)
search(out_dir=sys.argv[2]).run()
"""


def _kill_and_resume(search, out, rows, timeout=60, **resume_changes):
    """Run `search(out_dir=out).run()` in a fresh Python process and SIGKILL it (no cleanup,
    as the OOM killer would) as soon as out/generations.csv has `rows` rows; then resume it in
    this process with `search(out_dir=out, **resume_changes).run()`. rows=0 kills it during
    generation 0, when the directory holds only the journal's header and config.toml.

    search: a functools.partial of a search class (GeneticSearch, PopulationBasedTraining)
    that pickles; its objective pickles by reference, so it must be importable (module level
    in tests/hpsearch/objectives.py or pbt_objectives.py).
    Returns (the results as the kill left them, loaded from `out`; the resumed result)."""
    import hpsearch  # here, not at the top: a broken hpsearch must not stop the netcore tests

    progress = Path(out) / "generations.csv"
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(REPO), str(out)],
                                   stdin=subprocess.PIPE, stderr=stderr, cwd=REPO)
        process.stdin.write(pickle.dumps(search))
        process.stdin.close()
        deadline = time.time() + timeout
        while time.time() < deadline and process.poll() is None:
            if rows == 0 and (Path(out) / "checkpoint.jsonl").exists():
                time.sleep(0.2)  # well inside generation 0
                break
            if rows and progress.exists() and len(pd.read_csv(progress)) >= rows:
                break
            time.sleep(0.01)
        if process.poll() is not None:
            stderr.seek(0)
            raise AssertionError(f"the run finished (exit status {process.returncode}) before it could "
                                 f"be killed:\n{stderr.read().decode(errors='replace')[-3000:]}")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    interrupted = hpsearch.load(out)
    assert not interrupted.finished
    resumed = search(out_dir=out, **resume_changes).run()
    return interrupted, resumed


def _loopback_works():
    try:
        with socket.create_server(("127.0.0.1", 0)) as server:
            with socket.create_connection(server.getsockname(), timeout=2):
                return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def loopback():
    """Skips the test where nothing can connect to 127.0.0.1 (a sandbox with no network at
    all); a machine that is merely offline still has loopback."""
    if not _loopback_works():
        pytest.skip("127.0.0.1 is unreachable here (no loopback network): the test serves on it")


@pytest.fixture(name="assert_same_results")
def assert_same_results_fixture():
    """The function _assert_same_results(a, b, ignore=())."""
    return _assert_same_results


@pytest.fixture(name="kill_and_resume")
def kill_and_resume_fixture():
    """The function _kill_and_resume(search, out, rows, timeout=60, **resume_changes)."""
    return _kill_and_resume


# Tests over ~2 s in directories not edited here; marked slow by node id.
SLOW_ELSEWHERE = {
    "tests/golden/test_golden.py::test_experiment_reproduces_its_golden_tables[digits]",
    "tests/golden/test_golden.py::test_experiment_reproduces_its_golden_tables[fidelity_digits]",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid in SLOW_ELSEWHERE:
            item.add_marker(pytest.mark.slow)
