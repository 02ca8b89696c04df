"""End-to-end runs of the command line on real small data, and its one-line user errors."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from hpsearch.cli import main
from hpsearch.results import LOCK

REPO = Path(__file__).resolve().parents[2]

TINY = """
seed = 0
[dataset]
name = "digits"
[search]
population = 4
generations = 1
[parallel]
n_jobs = 1
[space.learning_rate]
kind = "float"
low = 0.01
high = 0.3
log = true
[space.hidden_sizes]
kind = "layers"
min_layers = 1
max_layers = 2
low = 8
high = 16
[space.epochs]
kind = "int"
low = 1
high = 2
[space.batch_size]
value = 64
"""

TRIAL_COLUMNS = ["trial_id", "generation", "status", "fitness", "cached", "learning_rate",
                 "hidden_sizes", "n_layers", "epochs", "batch_size", "momentum", "init", "val_metric", "val_loss",
                 "train_loss", "epochs_run", "epochs_trained", "n_params", "train_seconds", "latency", "seed",
                 "seed_index", "seconds", "parents", "operator", "reason", "worker"]


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.slow
def test_run_show_plot_resume(tmp_path, capsys):
    config = write(tmp_path / "tiny.toml", TINY)
    out = tmp_path / "results"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "best validation score" in printed and "test score" in printed

    trials = pd.read_csv(out / "trials.csv")
    assert list(trials.columns) == TRIAL_COLUMNS
    assert len(trials) >= 4 and (trials["status"] == "ok").all()
    generations = pd.read_csv(out / "generations.csv")
    # generations 0 and 1 breed; then the chosen genome's confirmation (generation 2)
    assert list(generations["generation"]) == [0, 1, 2]
    assert list(generations["phase"]) == ["search", "search", "confirmation"]
    best = json.loads((out / "best.json").read_text())
    assert best["finished"] and 0 < best["test_metric"] <= 1
    assert (out / "config.toml").read_text().count("[dataset]") == 1
    pngs = sorted((out / "plots").glob("*.png"))
    assert len(pngs) >= 6
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2000 for p in pngs)

    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "top" in shown and "best config" in shown and f"{best['test_metric']:.4f}" in shown

    (out / "plots" / pngs[0].name).unlink()
    assert main(["plot", str(out)]) == 0
    assert (out / "plots" / pngs[0].name).exists()

    before = {name: (out / name).read_bytes() for name in ("trials.csv", "generations.csv", "best.json")}
    assert main(["resume", str(out), "--quiet", "--no-plots"]) == 0  # finished: a no-op
    assert before == {name: (out / name).read_bytes() for name in before}


@pytest.mark.slow
def test_python_dash_m_and_console_script_help():
    for command in ([sys.executable, "-m", "hpsearch", "--help"],
                    [str(Path(sys.executable).with_name("hpsearch")), "run", "--help"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "usage: hpsearch" in done.stdout


def test_datasets_command(capsys):
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("digits") and "yes" in line for line in lines)
    assert any(line.startswith("fashion-mnist") for line in lines)


def _bad_csv(tmp_path, text, name="data.csv"):
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


MALFORMED = [
    # (config text, expected message regex)
    ("[dataset]\nname = 'digitz'\n", r"dataset\.name: unknown data set 'digitz' \(did you mean 'digits'\?"),
    ("[search]\npopulation = 4\n", r"dataset: missing required key 'name'"),
    ("[dataset]\nname = 'digits'\n[search]\npopulaton = 4\n",
     r"search\.populaton: unknown key \(did you mean 'population'\?; valid: mode, population, "),
    ("[dataset]\nname = 'digits'\n[search]\npopulation = 'ten'\n", r"search\.population: expected an integer, got 'ten'"),
    ("[dataset]\nname = 'digits'\n[search]\npopulation = 1\n", r"search\.population: "),
    ("[dataset]\nname = 'digits'\n[search]\npopulation = 4\nelitism = 4\n", r"search\.elitism: must be < population \(4\), got 4"),
    ("[dataset]\nname = 'digits'\n[search]\ncrossover_prob = 1.5\n", r"search\.crossover_prob: "),
    ("[dataset]\nname = 'digits'\n[budget]\ntime_limit = -5\n", r"budget\.time_limit: must be > 0, got -5"),
    ("[dataset]\nname = 'digits'\n[space.learning_rate]\nkind = 'float'\nlow = 0.0\nhigh = 1.0\nlog = true\n",
     r"space\.learning_rate\.low: must be > 0 on a log scale"),
    ("[dataset]\nname = 'digits'\n[space.momentum]\nkind = 'flaot'\nlow = 0.0\nhigh = 0.9\n",
     r"space\.momentum\.kind: unknown gene kind 'flaot' \(did you mean 'float'\?"),
    ("[dataset]\nname = 'digits'\n[space.epochs]\nkind = 'int'\nlow = 10\nhigh = 2\n", r"space\.epochs\.low: "),
    ("[dataset]\nname = 'digits'\n[space.init]\nkind = 'categorical'\nchoices = []\n", r"space\.init\.choices: "),
    ("[dataset]\nname = 'digits'\nval_fraction = 1.5\n", r"dataset\.val_fraction: "),
    ("[dataset]\nname = 'fashion-mnist'\nn_trian = 100\n", r"dataset\.n_trian: unknown option of data set 'fashion-mnist' \(did you mean 'n_train'\?\)"),
    ("[dataset\nname = 'digits'\n", r"invalid TOML"),
    ("seed = -1\n[dataset]\nname = 'digits'\n", r"seed: "),
    ("[dataset]\nname = 'digits'\n[search]\nwarm_start = [{learning_rate = 2.0}]\n", r"search\.warm_start\[0\]"),
    ("[dataset]\nname = 'csv'\npath = 'missing.csv'\nlabel = 'y'\n", r"missing\.csv"),
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A results directory that every failing command below must leave untouched."""
    root = tmp_path_factory.mktemp("finished")
    config = write(root / "tiny.toml", TINY)
    assert main(["run", str(config), "--out", str(root / "results"), "--quiet", "--no-plots"]) == 0
    return root / "results"


def snapshot(directory):
    """The files of a results directory (but the lock's, which names its last holder)."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and p.name != LOCK}


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed_configs_are_one_line_errors(text, message, tmp_path, capsys, finished_run):
    config = write(tmp_path / "bad.toml", text)
    before = snapshot(finished_run)
    assert main(["run", str(config), "--out", str(finished_run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpsearch: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert __import__("re").search(message, err), err
    assert snapshot(finished_run) == before


@pytest.mark.parametrize("make, message", [
    (lambda d: _bad_csv(d, "a,b,y\n1,2,0\n3,,1\n4,5,0\n6,7,1\n"), r"NaN"),
    (lambda d: _bad_csv(d, "a,b,label\n1,2,0\n3,4,1\n"), r"label|'y'"),
    (lambda d: _bad_csv(d, "a,b,y\nx,2,0\ny,4,1\n"), r"'a'"),
])
def test_malformed_data_files_are_one_line_errors(make, message, tmp_path, capsys, finished_run):
    path = make(tmp_path)
    config = write(tmp_path / "bad.toml", f"[dataset]\nname = 'csv'\npath = '{path}'\nlabel = 'y'\n")
    before = snapshot(finished_run)
    assert main(["run", str(config), "--out", str(finished_run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpsearch: error: ") and err.count("\n") == 1, err
    assert __import__("re").search(message, err), err
    assert snapshot(finished_run) == before


def test_corrupt_idx_files_are_one_line_errors(tmp_path, capsys):
    data = tmp_path / "idx"
    data.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (data / name).write_bytes(b"\x00\x00\x08\x07garbage")
    config = write(tmp_path / "bad.toml", f"[dataset]\nname = 'fashion-mnist'\ndata_dir = '{data}'\n")
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpsearch: error: ") and "magic" in err and err.count("\n") == 1, err


def test_results_dirs_that_are_not_ours_are_refused(tmp_path, capsys, finished_run):
    config = write(tmp_path / "tiny.toml", TINY)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    assert main(["run", str(config), "--out", str(foreign), "--quiet"]) == 2
    assert "is not an hpsearch results directory" in capsys.readouterr().err
    assert (foreign / "thesis.tex").read_text() == "precious"
    assert main(["show", str(foreign)]) == 2
    assert main(["resume", str(foreign)]) == 2
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    assert main(["run", str(tmp_path / "nowhere.toml")]) == 2
    # Same directory, other settings: refused with what differs, results intact.
    before = snapshot(finished_run)
    other = write(tmp_path / "other.toml", TINY.replace("population = 4", "population = 5"))
    assert main(["run", str(other), "--out", str(finished_run), "--quiet"]) == 2
    assert "ga.population: 4 -> 5" in capsys.readouterr().err
    assert snapshot(finished_run) == before


SLOW = TINY.replace("generations = 1", "generations = 30").replace("high = 2\n", "high = 3\n")


@pytest.mark.slow
def test_ctrl_c_saves_state_and_resume_continues(tmp_path):
    config = write(tmp_path / "slow.toml", SLOW)
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "hpsearch", "run", str(config), "--out", str(out),
                                "--quiet", "--no-plots"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if (out / "generations.csv").exists() and len(pd.read_csv(out / "generations.csv")) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "hpsearch resume" in err and "Traceback" not in err
    saved = len(pd.read_csv(out / "generations.csv"))
    assert saved >= 2 and not json.loads((out / "best.json").read_text())["finished"]
    assert main(["resume", str(out), "--quiet", "--no-plots"]) == 0
    assert len(pd.read_csv(out / "generations.csv")) == 31 + 2  # generations 0-30, the final race, the confirmation
