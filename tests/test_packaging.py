"""What an installed wheel holds: the package files read at run time (the HTML pages' style
and script, read with importlib.resources; the PEP 561 markers), not only the .py modules.

The wheel is built from a copy of the sources without build isolation, with the setuptools of
the test extra: nothing is downloaded and nothing is written into the working tree.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_FILES = ["hpsearch/htmlpage/page.css", "hpsearch/htmlpage/sortable.js", "hpsearch/py.typed",
              "netcore/py.typed"]
# In the installed wheel: the page's blocks read their files, and a report page inlines them.
PROBE = """
import hpsearch, hpsearch.htmlpage as h
print(hpsearch.__file__)
page = h.page("t", h.note("x"))
assert h.asset("page.css") in page and h.asset("sortable.js") in page and "table.sortable" in page
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("setuptools", minversion="77", reason="the test extra's setuptools builds the wheel")
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("hpsearch", "netcore"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", "--wheel-dir", str(out), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("hpsearch-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_holds_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in DATA_FILES if name not in names] == []
    assert "hpsearch/cli/__init__.py" in names and "hpsearch/htmlpage/__init__.py" in names


@pytest.mark.slow
def test_the_installed_wheel_reads_its_page_files(wheel, tmp_path):
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(installed / "hpsearch" / "__init__.py")
