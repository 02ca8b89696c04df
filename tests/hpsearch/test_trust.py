"""A results directory is trusted with nothing but data, has one writer, and survives every way
a run can stop: a hostile checkpoint runs nothing, links are never followed, a stop in
generation 0 resumes, a second writer is refused, SIGTERM and a full disk are clean stops."""

import functools
import io
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

import hpsearch
from hpsearch import GeneticSearch, PopulationBasedTraining, SearchError, plots, writing
from hpsearch.cli import main
from hpsearch.lock import DirectoryLock
from hpsearch.results import LOCK

from .objectives import bowl, chaos, sleeper, slow_bowl, toy_space
from .pbt_objectives import NoisyDescent, descent_space
from .test_cli import TINY, write

REPO = Path(__file__).resolve().parents[2]
# A search (a pickled functools.partial on stdin) run to its end in a fresh process.
SEARCH_RUN = """
import pickle, sys
sys.path.insert(0, sys.argv[1])
search = pickle.load(sys.stdin.buffer)
search(out_dir=sys.argv[2]).run()
"""


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.startswith("hpsearch: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def snapshot(directory):
    """The files of a results directory (but the lock's, which names its last holder)."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and p.name != LOCK}


@pytest.fixture(scope="module")
def finished_cli_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("trust")
    config = write(root / "tiny.toml", TINY)
    assert main(["run", str(config), "--out", str(root / "results"), "--quiet", "--no-plots"]) == 0
    return config, root / "results"


def copy_of(finished, tmp_path):
    """A copy of a finished run, made to look interrupted (resume then reads its checkpoint)."""
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    best = json.loads((copy / "best.json").read_text())
    (copy / "best.json").write_text(json.dumps({**best, "finished": False}))
    return copy


# -- 1. no code from a results directory ---------------------------------------------------
class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_hostile_checkpoint_runs_nothing(finished_cli_run, tmp_path, capsys):
    config, finished = finished_cli_run
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"format": "hpsearch-checkpoint-2", "settings": Exploit(marker)})
    directory = copy_of(finished, tmp_path)
    (directory / "checkpoint.pkl").write_bytes(payload)  # what an older hpsearch wrote
    before = snapshot(directory)
    assert main(["resume", str(directory), "--quiet", "--no-plots"]) == 2
    assert "pickle" in one_line_error(capsys) and not marker.exists()
    assert main(["run", str(config), "--out", str(directory), "--quiet", "--no-plots"]) == 2
    assert "never read" in one_line_error(capsys) and not marker.exists()
    # The same bytes in the journal's place are not a checkpoint either.
    (directory / "checkpoint.pkl").unlink()
    (directory / "checkpoint.jsonl").write_bytes(payload)
    assert main(["resume", str(directory), "--quiet", "--no-plots"]) == 2
    assert "not an hpsearch checkpoint" in one_line_error(capsys) and not marker.exists()
    assert {k: v for k, v in snapshot(directory).items() if not k.startswith("checkpoint")} == \
        {k: v for k, v in before.items() if not k.startswith("checkpoint")}


def _edit_last_record(path, edit):
    lines = path.read_text().splitlines(keepends=True)
    record = json.loads(lines[-1])
    edit(record)
    lines[-1] = json.dumps(record) + "\n"
    path.write_text("".join(lines))


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["snapshot"].update(ga=5), "does not hold the state this search saves"),
    (lambda r: r["snapshot"].pop("spending"), "does not hold the state this search saves"),
    (lambda r: r["logs"].update(rows=[1, 2]), "does not hold the state this search saves"),
    (lambda r: r.update(logs=[]), "is not a record of snapshot and logs"),  # the last line
])
def test_a_checkpoint_of_the_wrong_shape_is_refused_in_one_line(edit, message, finished_cli_run, tmp_path, capsys):
    _, finished = finished_cli_run
    directory = copy_of(finished, tmp_path)
    _edit_last_record(directory / "checkpoint.jsonl", edit)
    assert main(["resume", str(directory), "--quiet", "--no-plots"]) == 2
    assert message in one_line_error(capsys)


def test_a_damaged_line_before_the_last_is_refused_not_cut_off(finished_cli_run, tmp_path, capsys):
    _, finished = finished_cli_run
    directory = copy_of(finished, tmp_path)
    journal = directory / "checkpoint.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[1] = b"{not json\n"
    journal.write_bytes(b"".join(lines))
    assert main(["resume", str(directory), "--quiet", "--no-plots"]) == 2
    assert "line 2 is damaged" in one_line_error(capsys)
    assert journal.read_bytes() == b"".join(lines)


# -- 2. links are never followed -----------------------------------------------------------
def test_a_linked_results_file_is_refused_and_its_target_untouched(tmp_path):
    search = functools.partial(GeneticSearch, toy_space(), bowl, population=4, generations=1, n_jobs=1,
                               quiet=True)
    out = tmp_path / "run"
    search(out_dir=out).run()
    elsewhere = tmp_path / "precious.csv"
    elsewhere.write_text("precious\n")
    (out / "trials.csv").unlink()
    (out / "trials.csv").symlink_to(elsewhere)
    with pytest.raises(SearchError, match="trials.csv: is a symbolic link"):
        search(out_dir=out).run()
    assert elsewhere.read_text() == "precious\n"


def test_pbt_never_deletes_through_a_linked_weights_folder(tmp_path):
    out = tmp_path / "pbt-run"
    pbt = functools.partial(PopulationBasedTraining, descent_space(), NoisyDescent(), population=4, steps=2,
                            epochs_per_step=1, n_jobs=1, quiet=True)
    pbt(out_dir=out).run()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("notes.txt", "member-0-step-0.npz"):
        (elsewhere / name).write_text("precious")
    shutil.rmtree(out / "pbt" / "weights")
    (out / "pbt" / "weights").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(SearchError, match="weights: is a symbolic link"):
        pbt(out_dir=out).run()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["member-0-step-0.npz", "notes.txt"]


def test_plots_are_never_written_through_a_linked_folder(finished_cli_run, tmp_path, capsys):
    _, finished = finished_cli_run
    directory = copy_of(finished, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (directory / "plots").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ValueError, match="plots: is a symbolic link"):
        plots.plot_all(directory, quiet=True)
    assert main(["plot", str(directory)]) == 2
    assert "symbolic link" in one_line_error(capsys) and not any(elsewhere.iterdir())


# -- 4. a stop in generation 0 resumes -----------------------------------------------------
@pytest.mark.slow
def test_a_kill_during_generation_0_resumes_to_the_same_results(tmp_path, kill_and_resume, assert_same_results):
    search = functools.partial(GeneticSearch, toy_space(), slow_bowl, population=40, generations=1, n_jobs=1,
                               seed=3, quiet=True)
    out = tmp_path / "run"
    interrupted, resumed = kill_and_resume(search, out, rows=0)
    assert interrupted.trials.empty and interrupted.generations.empty  # killed inside generation 0
    assert_same_results(resumed, search(out_dir=tmp_path / "whole").run())


def test_a_directory_with_only_the_journal_header_resumes_from_the_cli(finished_cli_run, tmp_path, capsys):
    """Stopped between the journal's header and config.toml: the header holds the config."""
    config, _ = finished_cli_run
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--no-plots"]) == 0
    whole = hpsearch.load(out)
    journal = out / "checkpoint.jsonl"
    header = journal.read_bytes().splitlines(keepends=True)[0]
    for path in out.iterdir():
        path.unlink()
    journal.write_bytes(header)
    assert hpsearch.results.is_results_dir(out)
    assert main(["resume", str(out), "--quiet", "--no-plots"]) == 0
    assert (out / "config.toml").exists()
    pd.testing.assert_frame_equal(hpsearch.load(out).trials.drop(columns=["seconds", "train_seconds", "latency",
                                                                          "worker"]),
                                  whole.trials.drop(columns=["seconds", "train_seconds", "latency", "worker"]))


# -- 5. one writer per directory; 6. no silent overwrite -----------------------------------
def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    out = tmp_path / "run"
    search = functools.partial(GeneticSearch, toy_space(), bowl, population=4, generations=1, n_jobs=1,
                               quiet=True)
    search(out_dir=out).run()
    live_temporary = out / ".trials.csv.live.tmp"  # what the holder is writing right now
    live_temporary.write_text("partial")
    with DirectoryLock(out):
        with pytest.raises(SearchError, match=rf"in use by another hpsearch run \(pid {os.getpid()} on "):
            search(out_dir=out).run()
    assert live_temporary.exists()
    search(out_dir=out).run()  # the lock is gone with its holder
    assert not live_temporary.exists()


def test_results_without_a_checkpoint_are_never_overwritten(tmp_path):
    out = tmp_path / "run"
    search = functools.partial(GeneticSearch, toy_space(), bowl, population=4, generations=1, n_jobs=1,
                               quiet=True)
    search(out_dir=out).run()
    (out / "checkpoint.jsonl").unlink()
    before = snapshot(out)
    with pytest.raises(SearchError, match=r"has results \(trials.csv, best.json, generations.csv\) but no "
                                          r"checkpoint.jsonl"):
        search(out_dir=out).run()
    assert snapshot(out) == before


# -- 7. SIGTERM is a clean stop ------------------------------------------------------------
def _children(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


SLOW = TINY.replace("generations = 1", "generations = 40").replace("n_jobs = 1", "n_jobs = 2").replace(
    "high = 2\n", "high = 4\n")


@pytest.mark.slow
def test_sigterm_saves_stops_the_workers_cleans_up_and_exits_143(tmp_path, capsys):
    config = write(tmp_path / "slow.toml", SLOW)
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "hpsearch", "run", str(config), "--out", str(out),
                                "--quiet", "--no-plots"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None:
            if (out / "generations.csv").exists() and len(pd.read_csv(out / "generations.csv")) >= 1:
                break
            time.sleep(0.05)
        # A second run on the same directory is refused while the first lives.
        before = snapshot(out)
        assert main(["run", str(config), "--out", str(out), "--quiet", "--no-plots"]) == 2
        assert f"in use by another hpsearch run (pid {process.pid} on" in one_line_error(capsys)
        time.sleep(0.5)  # into a generation: workers busy
        workers = _children(process.pid)
        assert workers, "no worker processes to check"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, err
    assert "terminated (SIGTERM)" in err and f"hpsearch resume {out}" in err and "Traceback" not in err
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "worker processes outlived the search"
    assert not list(Path(tempfile.gettempdir()).glob(f"hpsearch-data-{process.pid}-*"))
    saved = len(pd.read_csv(out / "generations.csv"))
    assert saved >= 1 and not json.loads((out / "best.json").read_text())["finished"]
    assert len(pd.read_csv(out / "trials.csv")) >= len(pd.read_csv(io.BytesIO(before["trials.csv"])))


@pytest.mark.slow
def test_workers_end_with_a_search_killed_outright(tmp_path):
    """SIGKILL (the OOM killer) gives the search no chance to stop its workers: they notice
    their parent is gone and exit, instead of training on."""
    search = functools.partial(GeneticSearch, toy_space(), sleeper, population=8, generations=3, n_jobs=2,
                               quiet=True)
    process = subprocess.Popen([sys.executable, "-c", SEARCH_RUN, str(REPO), str(tmp_path / "run")],
                               stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO)
    process.stdin.write(pickle.dumps(search))
    process.stdin.close()
    deadline = time.time() + 60
    while time.time() < deadline and len(_children(process.pid)) < 2:
        time.sleep(0.1)
    workers = _children(process.pid)
    assert len(workers) >= 2, workers
    time.sleep(1.0)  # inside a trial that sleeps 30 s
    process.kill()
    process.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "workers outlived a SIGKILLed search"


# -- 9. a full disk ------------------------------------------------------------------------
def test_a_full_disk_is_one_line_after_the_summary_and_resume_completes(tmp_path, capsys, monkeypatch,
                                                                        assert_same_results):
    config = write(tmp_path / "tiny.toml", TINY.replace("generations = 1", "generations = 3"))
    whole = tmp_path / "whole"
    assert main(["run", str(config), "--out", str(whole), "--quiet", "--no-plots"]) == 0
    capsys.readouterr()

    append = writing._append
    calls = []

    def full_disk_in_generation_2(path, data):
        calls.append(Path(path).name)
        if calls.count("generations.csv") == 2:  # generation 0 writes the file whole, then appends
            append("/dev/full", data)  # a real ENOSPC, named after the file as _append names it
        append(path, data)

    out = tmp_path / "run"
    monkeypatch.setattr(writing, "_append", full_disk_in_generation_2)
    assert main(["run", str(config), "--out", str(out), "--quiet", "--no-plots"]) == 2
    captured = capsys.readouterr()
    assert "best validation score" in captured.out
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "no space left on the device writing /dev/full" in captured.err
    assert "generations 0..1 are saved" in captured.err and f"hpsearch resume {out}" in captured.err
    monkeypatch.setattr(writing, "_append", append)
    assert main(["resume", str(out), "--quiet", "--no-plots"]) == 0
    assert_same_results(hpsearch.load(out), hpsearch.load(whole))


# -- every stop recoverable, whatever the objective does ----------------------------------
@pytest.mark.slow
def test_faults_and_ten_kills_at_random_moments_leave_the_uninterrupted_results(tmp_path, assert_same_results):
    """The objective raises, exits, overruns its timeout, returns NaN or kills its worker
    (chosen by its parameters, so every run meets the same faults); the search is killed
    with SIGKILL or SIGTERM at ten random moments and resumed each time."""
    search = functools.partial(GeneticSearch, toy_space(), chaos, population=8, generations=8, n_jobs=2,
                               timeout=0.5, seed=11, quiet=True)
    whole = search(out_dir=tmp_path / "whole").run()
    statuses = set(whole.trials["status"])
    assert {"ok", "failed", "timeout"} <= statuses, statuses
    reasons = " ".join(whole.trials["reason"])
    for fault in ("RuntimeError", "SystemExit", "worker process died", "non-finite fitness"):
        assert fault in reasons, fault

    out = tmp_path / "killed"
    rng = random.Random(20261201)
    kills = []
    for _ in range(10):
        process = subprocess.Popen([sys.executable, "-c", SEARCH_RUN, str(REPO), str(out)],
                                   stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO)
        process.stdin.write(pickle.dumps(search))
        process.stdin.close()
        time.sleep(rng.uniform(0.5, 3.0))
        how = rng.choice([signal.SIGKILL, signal.SIGTERM])
        if process.poll() is None:
            process.send_signal(how)
            kills.append(how.name)
        process.wait(timeout=60)
    assert len(kills) >= 5, kills  # most kills landed mid-run
    assert_same_results(search(out_dir=out).run(), whole)


def test_ctrl_c_turned_into_another_error_by_a_library_still_stops_as_an_interruption():
    import os
    import signal

    from hpsearch.run import sigterm_as_interrupt

    def library_call():  # as numpy's buffer-format parser does with a KeyboardInterrupt
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            raise ValueError("not a valid PEP 3118 buffer format string") from None

    with pytest.raises(KeyboardInterrupt) as stop, sigterm_as_interrupt():
        library_call()
    assert isinstance(stop.value.__cause__, ValueError)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(ValueError), sigterm_as_interrupt():  # no Ctrl-C: the error as it is
        raise ValueError("boom")
