"""report.html: the sections of every kind of run, escaping, plots, and the page in a real
browser (headless Chromium: a screenshot, and sorting the trials table by clicking headers)."""

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from hpsearch import Fidelity, GeneticSearch, PopulationBasedTraining, report
from hpsearch.report import REPORT, write_report
from hpsearch.summary import show_text

from .objectives import curve_space, front_space, learning_curve, toy_space, troublemaker, two_objectives
from .pbt_objectives import NoisyDescent, descent_space

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")
HOSTILE = "<script>window.pwned = 1</script>"
HOSTILE_ATTRIBUTE = '"><img src=x onerror="window.pwned = 2">'
COMMON = {"summary", "best", "trials", "plots", "settings"}
SPECIAL = {"fidelity", "pbt", "pareto"}


# ---------------------------------------------------------------- runs of every kind


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Small runs of each kind, with their report written: {kind: results directory}."""
    base = tmp_path_factory.mktemp("report")
    dirs = {kind: base / kind for kind in ("ga", "fidelity", "pbt", "nsga2")}
    # troublemaker: failed and diverged trials among successful ones
    GeneticSearch(toy_space(), troublemaker, population=10, generations=2, seed=0, quiet=True,
                  out_dir=dirs["ga"]).run()
    GeneticSearch(curve_space(), learning_curve, fidelity=Fidelity(rungs=3, reduction_factor=3, pruner="none"),
                  population=9, generations=2, seed=2, quiet=True, out_dir=dirs["fidelity"]).run()
    PopulationBasedTraining(descent_space(), NoisyDescent(), population=4, steps=4, epochs_per_step=1, seed=1,
                            quiet=True, out_dir=dirs["pbt"]).run()
    GeneticSearch(front_space(), two_objectives, population=8, generations=2, seed=0, tournament_size=2,
                  objectives=["val_metric", "n_params"], quiet=True, out_dir=dirs["nsga2"]).run()
    for out_dir in dirs.values():
        assert write_report(out_dir) == out_dir / REPORT
    return dirs


class Page(HTMLParser):
    """What a report page holds: its sections' ids, every table (its section, caption, header
    cells, and rows as (class, cell texts)), the images' sources, the scripts' count."""

    def __init__(self, text):
        super().__init__()
        self.sections, self.tables, self.images, self.scripts = [], [], [], 0
        self._section = None
        self._cell = None
        self._caption = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs.get("id")
            self.sections.append(self._section)
        elif tag == "table":
            self.tables.append({"section": self._section, "caption": "", "head": [], "rows": [],
                                "sortable": "sortable" in (attrs.get("class") or ""), "sorted": {}})
        elif tag == "caption":
            self._caption = ""
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append((attrs.get("class") or "", []))
        elif tag in ("td", "th") and self.tables:
            self._cell = ""
            if tag == "th" and attrs.get("aria-sort"):
                self.tables[-1]["sorted"] = {"index": len(self.tables[-1]["rows"][-1][1]),
                                             "order": attrs["aria-sort"]}
        elif tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1]["rows"][-1][1].append(self._cell)
            self._cell = None
        elif tag == "caption":
            self.tables[-1]["caption"], self._caption = self._caption, None
        elif tag == "thead" and self.tables:
            self.tables[-1]["head"] = self.tables[-1]["rows"].pop()[1]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._caption is not None:
            self._caption += data

    def table(self, section, index=0):
        found = [t for t in self.tables if t["section"] == section]
        return found[index]

    def frame(self, section, index=0):
        table = self.table(section, index)
        return pd.DataFrame([cells for _, cells in table["rows"]], columns=table["head"] or None)


def read_page(out_dir):
    return Page((Path(out_dir) / REPORT).read_text())


@pytest.mark.parametrize("kind, special", [("ga", set()), ("fidelity", {"fidelity"}), ("pbt", {"pbt"}),
                                           ("nsga2", {"pareto"})])
def test_every_section_of_each_kind_of_run(runs, kind, special):
    out_dir = runs[kind]
    text = (out_dir / REPORT).read_text()
    page = Page(text)
    assert set(page.sections) == COMMON | special
    best = json.loads((out_dir / "best.json").read_text())
    assert best["stop_reason"] in text
    # the best configuration: its trial, fitness and every hyperparameter
    cards = page.frame("best")  # the hyperparameters table (key, value)
    assert set(cards.iloc[:, 0]) == set(best["params"])
    assert f"{best['fitness']:.4g}" in text
    # every plot in plots/ embedded as a PNG data URI; nothing loaded from elsewhere
    pngs = sorted((out_dir / "plots").glob("*.png"))
    assert pngs and len(page.images) == len(pngs)
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    # the coverage of each gene's range by generation (generations.csv's coverage_<gene>)
    assert ("<figcaption>coverage.png</figcaption>" in text) == (kind != "pbt")
    assert "http://" not in text and "https://" not in text and page.scripts == 1
    # the trials table: sortable, sorted by fitness, the best configuration highlighted (the
    # top row but in PBT (the best member at the last step) and NSGA-II (the knee))
    trials = page.table("trials")
    assert trials["sortable"] and trials["head"][trials["sorted"]["index"]] == "fitness"
    highlighted = [cells for css, cells in trials["rows"] if css == "best"]
    assert [cells[trials["head"].index("trial_id")] for cells in highlighted] == [str(best["trial_id"])]
    if kind in ("ga", "fidelity"):
        assert trials["rows"][0][0] == "best"
    # the settings: config.toml's tables and its text
    assert "config.toml" in text and "[search]" in text


def test_the_trials_table_ranks_full_trainings_then_the_rest_then_failures(runs):
    page = read_page(runs["ga"])
    table = page.frame("trials")
    trials = pd.read_csv(runs["ga"] / "trials.csv")
    assert len(table) == min(len(trials), report.TOP_TRIALS)
    fitness = pd.to_numeric(table["fitness"].replace("", np.nan))
    scored = fitness.notna()
    assert list(scored) == sorted(scored, reverse=True)  # failures last
    assert list(fitness[scored]) == sorted(fitness[scored], reverse=True)
    assert (table.loc[~scored, "status"].isin(["failed", "diverged", "timeout"])).all() and (~scored).any()
    assert "cached" not in table and "seed" not in table and "reason" in table
    failures = page.frame("trials", 1)  # failures by status and reason
    failed = trials[trials["status"].isin(["failed", "diverged", "timeout"])]
    assert failures["trials"].astype(int).sum() == len(failed)
    assert set(failures["reason"]) == set(failed["reason"].fillna(""))


@pytest.mark.parametrize("kind", ["ga", "fidelity", "nsga2"])
def test_hpsearch_show_and_the_report_rank_the_trials_alike(runs, kind):
    """show lists the full trainings once per genome, the report every trial; where they
    overlap, they agree on the order (both call leaderboard.top_trials), the best first."""
    reported = list(read_page(runs[kind]).frame("trials")["trial_id"])
    text = show_text(runs[kind], top=1000)
    lines = text.split(" trials by ", 1)[1].split("\n\n", 1)[0].splitlines()[2:]  # after the header row
    shown = [line.split()[0] for line in lines if line.strip() and not line.startswith("(")]
    best = str(json.loads((runs[kind] / "best.json").read_text())["trial_id"])
    assert len(shown) > 1 and shown[0] == reported[0] == best
    assert [trial for trial in reported if trial in shown] == shown


def test_fidelity_section_counts_trainings_per_rung(runs):
    out_dir = runs["fidelity"]
    page = read_page(out_dir)
    table = page.frame("fidelity").astype(int)
    trials = pd.read_csv(out_dir / "trials.csv")
    trained = trials[~trials["cached"]]
    counts = trained.groupby(["rung", "status"]).size().unstack(fill_value=0)
    assert list(table["rung"]) == list(counts.index) == [0, 1, 2]
    for column, status in (("promoted", "promoted"), ("pruned", "pruned"), ("full (ok)", "ok")):
        assert list(table[column]) == list(counts.get(status, pd.Series(0, index=counts.index)))
    assert list(table["trainings"]) == list(counts.sum(axis=1))
    assert list(table["epochs trained"]) == list(trained.groupby("rung")["epochs_run"].sum())
    share = (trained["status"] == "pruned").mean()
    assert f"{share:.0%}" in (out_dir / REPORT).read_text()


def test_pbt_section_shows_the_schedule(runs):
    out_dir = runs["pbt"]
    schedule = pd.read_csv(out_dir / "pbt_schedule.csv")
    table = read_page(out_dir).frame("pbt")
    assert list(table["step"].astype(int)) == list(schedule["step"])
    assert list(table["operator"]) == list(schedule["operator"])
    assert list(table["trial_id"].astype(int)) == list(schedule["trial_id"])


def test_pareto_section_marks_the_knee(runs):
    out_dir = runs["nsga2"]
    front = pd.read_csv(out_dir / "pareto.csv")
    page = read_page(out_dir)
    table = page.table("pareto")
    frame = page.frame("pareto")
    assert sorted(frame["trial_id"].astype(int)) == sorted(front["trial_id"])
    knee = front.loc[front["knee"], "trial_id"].item()
    marked = [(css, cells) for css, cells in table["rows"] if css == "knee"]
    assert len(marked) == 1 and marked[0][1][0] == "★ knee"
    assert marked[0][1][table["head"].index("trial_id")] == str(knee)
    assert json.loads((out_dir / "best.json").read_text())["trial_id"] == knee


# ---------------------------------------------------------------- hostile files, plots


@pytest.fixture
def hostile_dir(runs, tmp_path):
    """The GA run with hostile text in trials.csv (a failure's reason, a categorical gene
    value, a column name), best.json and config.toml."""
    out_dir = tmp_path / "hostile"
    shutil.copytree(runs["ga"], out_dir)
    trials = pd.read_csv(out_dir / "trials.csv", dtype={"reason": str})
    failed = trials.index[trials["status"] == "failed"][0]
    trials.loc[failed, "reason"] = HOSTILE
    trials["c"] = trials["c"].astype(object)
    trials.loc[trials.index[-1], "c"] = HOSTILE_ATTRIBUTE
    trials = trials.rename(columns={"operator": "<b>operator</b>"})
    trials.to_csv(out_dir / "trials.csv", index=False)
    best = json.loads((out_dir / "best.json").read_text())
    best["stop_reason"] = HOSTILE
    best["params"][HOSTILE] = HOSTILE_ATTRIBUTE
    (out_dir / "best.json").write_text(json.dumps(best))
    config = (out_dir / "config.toml").read_text()
    (out_dir / "config.toml").write_text(f"note = {json.dumps(HOSTILE)}\n" + config)
    write_report(out_dir, make_plots=False)
    return out_dir


def test_hostile_values_are_escaped(hostile_dir):
    text = (hostile_dir / REPORT).read_text()
    assert HOSTILE not in text and HOSTILE_ATTRIBUTE not in text and "<b>operator" not in text
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in text
    page = Page(text)
    assert page.scripts == 1  # the page's own
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    trials = page.frame("trials")
    assert HOSTILE in set(trials["reason"]) and HOSTILE_ATTRIBUTE in set(trials["c"])
    assert "<b>operator</b>" in trials.columns
    assert text.count("&lt;script&gt;window.pwned") >= 4  # reason, stop reason, param name, config


def test_plots_are_made_when_missing_or_stale_and_never_read_through_links(runs, tmp_path):
    out_dir = tmp_path / "run"
    shutil.copytree(runs["ga"], out_dir, ignore=shutil.ignore_patterns("plots", REPORT))
    assert Page(report.report_html(out_dir, make_plots=False)).images == []
    write_report(out_dir)
    pngs = sorted((out_dir / "plots").glob("*.png"))
    assert pngs and len(read_page(out_dir).images) == len(pngs)
    made = {path: path.stat().st_mtime_ns for path in pngs}
    write_report(out_dir)  # fresh: not made again
    assert {path: path.stat().st_mtime_ns for path in pngs} == made
    later = time.time() + 5
    os.utime(out_dir / "trials.csv", (later, later))  # the results changed since
    write_report(out_dir)
    assert all(path.stat().st_mtime_ns != made[path] for path in pngs)
    # a planted link or a file that is not a PNG is never embedded
    secret = tmp_path / "secret.png"
    secret.write_bytes(pngs[0].read_bytes())
    pngs[0].unlink()
    pngs[0].symlink_to(secret)
    pngs[1].write_text("not a png")
    assert len(Page(report.report_html(out_dir, make_plots=False)).images) == len(pngs) - 2


def test_the_report_is_written_atomically_and_never_through_a_link(runs, tmp_path):
    out_dir = tmp_path / "run"
    shutil.copytree(runs["pbt"], out_dir)
    write_report(out_dir, make_plots=False)
    assert not list(out_dir.glob(f".{REPORT}.*"))
    (out_dir / REPORT).unlink()
    (out_dir / REPORT).symlink_to(tmp_path / "elsewhere.html")
    with pytest.raises(ValueError, match="symbolic link"):
        write_report(out_dir, make_plots=False)
    assert not (tmp_path / "elsewhere.html").exists()


def test_a_directory_without_trials_or_config_still_reports(tmp_path):
    (tmp_path / "trials.csv").write_text("")
    text = report.report_html(tmp_path)
    page = Page(text)
    assert {"summary", "best", "trials", "plots", "settings"} <= set(page.sections)
    assert "no trials yet" in text and "no config.toml" in text
    with pytest.raises(ValueError, match="no such results directory"):
        write_report(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not an hpsearch results directory"):
        write_report(tmp_path / "empty")


# ---------------------------------------------------------------- in a real browser


class Browser:
    """Headless Chromium driven through the DevTools protocol over a pipe
    (--remote-debugging-pipe: commands on its fd 3, answers on fd 4, NUL-separated JSON), so
    no network and no websocket library are needed."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def as_fds_3_and_4():  # in the child, before exec: C calls only
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (commands_read, answers_write)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             f"--user-data-dir={self.profile}", "--window-size=1280,2000", "about:blank"],
            pass_fds=(3, 4), preexec_fn=as_fds_3_and_4, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(answers_write)
        self._buffer, self._id, self.events = b"", 0, []

    def send(self, method, params=None, session=None, timeout=30):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\0" not in self._buffer:
                chunk = os.read(self._answers, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            line, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(line)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)
        raise TimeoutError(method)

    def open(self, path):
        """A new tab showing the file; its session id, once the page has loaded."""
        uri = Path(path).resolve().as_uri()
        target = self.send("Target.createTarget", {"url": uri})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Runtime.enable", session=session)
        deadline = time.time() + 30
        # The tab's first document is about:blank, already "complete": wait for the file's (a
        # busy machine commits the navigation late).
        loaded = f"document.readyState === 'complete' && location.href === {json.dumps(uri)}"
        while not self.evaluate(session, loaded):
            assert time.time() < deadline, "the page did not load"
            time.sleep(0.1)
        return session

    def evaluate(self, session, expression):
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in answer:
            raise RuntimeError(answer["exceptionDetails"])
        return answer["result"].get("value")

    def click(self, session, selector):
        """A real mouse click (pressed and released) in the middle of the element."""
        box = self.evaluate(session, f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
                                     "e.scrollIntoView({block: 'center'}); var r = e.getBoundingClientRect();"
                                     "return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1}, session)

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._answers)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    chromium = Browser()
    yield chromium
    chromium.close()


COLUMN = """(function (name) {
  var table = document.querySelector("#trials table.sortable");
  var heads = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) { return th.textContent; });
  var index = heads.indexOf(name);
  return Array.prototype.map.call(table.tBodies[0].rows, function (row) { return row.cells[index].textContent; });
})(%s)"""


def column(browser, session, name):
    return browser.evaluate(session, COLUMN % json.dumps(name))


@needs_chromium
def test_clicking_a_header_sorts_the_trials_table(runs, browser):
    session = browser.open(runs["ga"] / REPORT)
    heads = browser.evaluate(session, "Array.prototype.map.call(document.querySelectorAll('#trials thead th'),"
                                      " function (th) { return th.textContent; })")
    assert heads[:4] == ["trial_id", "generation", "status", "fitness"]

    def click(name):
        browser.click(session, f"#trials thead th:nth-child({heads.index(name) + 1})")
        return column(browser, session, name)

    def numbers(cells):
        return [float(c) for c in cells if c != ""]

    as_written = column(browser, session, "fitness")
    failed = as_written.count("")
    assert failed and numbers(as_written) == sorted(numbers(as_written), reverse=True)
    ascending = click("fitness")  # sorted descending: a click sorts ascending
    assert numbers(ascending) == sorted(numbers(ascending)) and ascending[-failed:] == [""] * failed
    descending = click("fitness")
    assert numbers(descending) == sorted(numbers(descending), reverse=True) and descending[-failed:] == [""] * failed
    ids = click("trial_id")  # numbers, not text: 2 before 10
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    statuses = click("status")  # text
    assert statuses == sorted(statuses)
    order = browser.evaluate(session, "document.querySelector('#trials thead th:nth-child(3)')"
                                      ".getAttribute('aria-sort')")
    assert order == "ascending"
    assert not [e for e in browser.events if e.get("method") == "Runtime.exceptionThrown"]


@needs_chromium
def test_a_hostile_report_runs_no_injected_script(hostile_dir, browser):
    session = browser.open(hostile_dir / REPORT)
    assert browser.evaluate(session, "document.scripts.length") == 1
    assert browser.evaluate(session, "window.pwned === undefined")
    reasons = column(browser, session, "reason")
    assert HOSTILE in reasons
    assert browser.evaluate(session, "document.querySelectorAll('main img').length") == len(
        list((hostile_dir / "plots").glob("*.png")))


@needs_chromium
def test_a_screenshot_of_the_report_is_not_blank(runs, tmp_path):
    shot = tmp_path / "report.png"
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                           "--window-size=1280,2000", (runs["fidelity"] / REPORT).resolve().as_uri()],
                          capture_output=True, timeout=120)
    assert done.returncode == 0 and shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels[..., :3].std() > 0.05  # not one colour
    # the header band is dark, the page light; the embedded plots add colour further down
    assert pixels[20, 640, :3].mean() < 0.3 and pixels[1000, 5, :3].mean() > 0.9
    assert len(np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 100
