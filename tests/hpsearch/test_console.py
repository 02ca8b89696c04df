"""What a user sees and reads: progress with budgets and an ETA on the terminal and in
DIR/hpsearch.log, one final summary, instant answers for finished runs, extending a finished
search, --version, and the library reporting through the `logging` module."""

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hpsearch import GeneticSearch
from hpsearch.cli import main

from .objectives import bowl, toy_space
from .test_cli import TINY, write

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """A finished TINY run with 2 breeding generations, and what it printed."""
    root = tmp_path_factory.mktemp("console")
    config = write(root / "tiny.toml", TINY.replace("generations = 1", "generations = 2"))
    out = root / "run"
    capture = pytest.MonkeyPatch()
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    capture.setattr(sys, "stdout", stdout)
    capture.setattr(sys, "stderr", stderr)
    try:
        assert main(["run", str(config), "--out", str(out), "--no-plots"]) == 0
    finally:
        capture.undo()
    return config, out, stdout.getvalue(), stderr.getvalue()


def test_progress_says_what_happens_from_loading_to_the_test_score(cli_run):
    _, out, printed, progress = cli_run
    lines = progress.splitlines()
    expected = ["loading the data set 'digits', splitting", "data: 1259 training, 269 validation, 269 test samples of "
                "64 features, 10 classes", f"starting a new search in {out}", "numerics: NumPy ", "generation 0/2", "generation 1/2",
                "generation 2/2", "stopped by generations (2) after", "scoring it on the test split"]
    positions = [next(i for i, line in enumerate(lines) if text in line) for text in expected]
    assert positions == sorted(positions), progress
    generation_1 = next(line for line in lines if line.startswith("generation 1/2"))
    assert "best 0." in generation_1 and "elapsed 0:0" in generation_1 and "eta 0:0" in generation_1


def test_one_summary_rounded_naming_the_files_and_the_next_commands(cli_run):
    _, out, printed, progress = cli_run
    assert printed.count("best validation score") == 1 and "best validation" not in progress
    params = next(line for line in printed.splitlines() if line.startswith("best params: "))
    learning_rate = params.split("learning_rate=")[1].split(",")[0]
    assert len(learning_rate.replace("0.", "")) <= 5, params  # 4 significant digits, not 17
    assert f"results in {out}" in printed and f"hpsearch show {out}" in printed


def test_the_log_file_holds_the_progress_with_times(cli_run):
    _, out, _, progress = cli_run
    logged = (out / "hpsearch.log").read_text().splitlines()
    assert any(line.endswith(progress.splitlines()[3]) for line in logged), logged  # "generation 0/2 ..."
    assert all(line[:4].isdigit() and " INFO " in line for line in logged)


def test_quiet_leaves_the_terminal_to_the_summary(tmp_path, capsys):
    config = write(tmp_path / "tiny.toml", TINY)
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--quiet", "--no-plots"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "best validation score" in captured.out
    assert "generation 1/1" in (tmp_path / "run" / "hpsearch.log").read_text()


def test_resuming_a_finished_run_answers_at_once_and_changes_nothing(cli_run, capsys):
    _, out, _, _ = cli_run
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert main(["resume", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{out}: already finished (generations (2)); to search on, extend a budget: "
                                   f"hpsearch resume {out} --generations N")
    assert captured.err == "" and {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_resume_with_a_larger_budget_extends_a_finished_search(cli_run, tmp_path, capsys):
    import shutil

    _, finished, _, _ = cli_run
    out = tmp_path / "extended"
    shutil.copytree(finished, out)
    assert main(["resume", str(out), "--generations", "4", "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert f"resuming the search in {out} from generation " in err and "generation 4/4" in err
    assert "config.toml: updated" in err
    best = json.loads((out / "best.json").read_text())
    assert best["finished"] and best["stop_reason"] == "generations (4)"
    assert "generations = 4" in (out / "config.toml").read_text()
    # The extension breeds on from the finished search (its final race and confirmation stay
    # as trainings of their genomes), and confirms its choice again at the end.
    import pandas as pd

    before, after = pd.read_csv(finished / "trials.csv"), pd.read_csv(out / "trials.csv")
    columns = ["trial_id", "generation", "fitness", "learning_rate", "hidden_sizes", "epochs", "seed_index"]
    pd.testing.assert_frame_equal(after[columns].iloc[:len(before)], before[columns])
    phases = pd.read_csv(out / "generations.csv")
    assert (phases["phase"] == "search").sum() > (pd.read_csv(finished / "generations.csv")["phase"] == "search").sum()
    assert phases["phase"].iloc[-1] in ("confirmation", "search")


def test_a_search_started_from_python_says_how_to_resume_it(tmp_path, capsys):
    GeneticSearch(toy_space(), bowl, population=4, generations=1, n_jobs=1, quiet=True, out_dir=tmp_path).run()
    (tmp_path / "best.json").write_text(json.dumps({"finished": False}))
    capsys.readouterr()  # what the search logged, where an earlier test left the console on
    assert main(["resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was started from Python with its own objective" in err
    assert "GeneticSearch(..., out_dir=...).run() again" in err


def test_version_and_a_help_that_imports_nothing_heavy():
    version = subprocess.run([sys.executable, "-m", "hpsearch", "--version"], capture_output=True, text=True,
                             cwd=REPO)
    assert version.returncode == 0 and version.stdout.startswith("hpsearch 0.")
    probe = ("import sys; from hpsearch.cli import build_parser; build_parser().format_help(); "
             "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'deap', 'joblib', 'matplotlib', "
             "'hpsearch.search') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_the_library_reports_through_the_hpsearch_logger(tmp_path):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("hpsearch")
    handler = Keep(level=logging.INFO)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        GeneticSearch(toy_space(), bowl, population=4, generations=2, n_jobs=1, quiet=True, out_dir=tmp_path).run()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    messages = [r.getMessage() for r in records]
    assert all(r.name == "hpsearch" for r in records)
    assert [m.split("  ")[0] for m in messages if m.startswith("generation")] == [
        "generation 0/2", "generation 1/2", "generation 2/2"]
    assert re.match(r"stopped by generations \(2\) after \d+ trials in ", messages[-2])
    assert messages[-1].startswith("chosen: score ")
