"""The report, compare and export commands end to end on a real small run."""

import importlib.util

import pytest

from hpsearch.cli import main

from .test_cli import TINY, write


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    dirs = []
    for seed in (0, 1):
        config = write(root / f"tiny{seed}.toml", TINY.replace("seed = 0", f"seed = {seed}"))
        out = root / f"tiny-seed{seed}"
        assert main(["run", str(config), "--out", str(out), "--quiet", "--no-plots"]) == 0
        dirs.append(out)
    return dirs


def test_report_command_writes_the_page(two_runs, capsys):
    assert main(["report", str(two_runs[0])]) == 0
    path = two_runs[0] / "report.html"
    assert capsys.readouterr().out.strip() == str(path)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page and "0." in page


def test_compare_command_writes_png_and_html_and_checks_labels(two_runs, tmp_path, capsys):
    out = tmp_path / "cmp.png"
    assert main(["compare", *map(str, two_runs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out), str(out.with_suffix(".html"))] and out.stat().st_size > 2000
    assert main(["compare", *map(str, two_runs), "--labels", "only-one"]) == 2
    err = capsys.readouterr().err
    assert err == "hpsearch: error: --labels: 1 labels for 2 directories\n"


def test_export_command(two_runs, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    if importlib.util.find_spec("optuna") is None:
        assert main(["export", str(two_runs[0]), "--optuna", url]) == 2
        assert "needs the optuna package: pip install" in capsys.readouterr().err
        return
    import optuna

    assert main(["export", str(two_runs[0]), "--optuna", url, "--study-name", "tiny"]) == 0
    assert "study 'tiny' written" in capsys.readouterr().out
    study = optuna.load_study(study_name="tiny", storage=url)
    trials = (two_runs[0] / "trials.csv").read_text().splitlines()
    assert len(study.trials) == len(trials) - 1  # one per training (races' included)
    assert main(["export", str(two_runs[0]), "--optuna", url, "--study-name", "tiny"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(two_runs[0]), "--optuna", url, "--study-name", "tiny", "--replace"]) == 0
