"""Which module may import which, read from the source with the ast module:

    netcore imports nothing of hpsearch;
    only hpsearch/evolve.py imports deap;
    hpsearch.plots (a module or a package) imports nothing of the engine, also at run time;
    nor do hpsearch.report and hpsearch.compare, which read results directories like the plots;
    no import cycles between the modules of netcore and hpsearch.

Every import statement counts for the first three rules, those inside functions too (a lazy
import still imports), but not those under `if TYPE_CHECKING:`. The cycle rule counts only
imports run when a module is imported: not those inside functions.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("netcore", "hpsearch")
# What drawing plots must not need: the search engine and the libraries it runs on.
ENGINE = ("hpsearch.search", "hpsearch.pbt", "hpsearch.evolve", "hpsearch.evaluate", "hpsearch.trial",
          "hpsearch.mlp", "hpsearch.cluster", "hpsearch.config", "deap", "joblib", "netcore")


def source_files(package):
    return sorted((REPO / package).rglob("*.py"))


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class ImportFinder(ast.NodeVisitor):
    """Collects (imported module, names taken from it) for every import statement of a module,
    relative imports resolved to absolute module names."""

    def __init__(self, path, inside_functions):
        name = module_name(path)
        self.package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        self.inside_functions = inside_functions
        self.imports = []

    def visit_If(self, node):
        if is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_FunctionDef(self, node):
        if self.inside_functions:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node):
        for alias in node.names:
            self.imports.append((alias.name, ()))

    def visit_ImportFrom(self, node):
        if node.level:
            base = self.package.split(".")[:len(self.package.split(".")) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module
        self.imports.append((module, tuple(alias.name for alias in node.names)))


def imports_of(path, inside_functions=True):
    finder = ImportFinder(path, inside_functions)
    finder.visit(ast.parse(path.read_text(), filename=str(path)))
    return finder.imports


def imported_names(path):
    """Every module name an import statement of `path` may load: `from a import b` gives
    both a and a.b (b may be a submodule)."""
    names = set()
    for module, taken in imports_of(path):
        names.add(module)
        names.update(f"{module}.{name}" for name in taken)
    return names


def within(name, prefixes):
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def offences(paths, forbidden):
    """'file: name' for every forbidden module the files import."""
    return sorted(f"{path.relative_to(REPO)}: {name}" for path in paths
                  for name in imported_names(path) if within(name, forbidden))


def plots_files():
    """hpsearch/plots.py, or every file of the package hpsearch/plots/."""
    module = REPO / "hpsearch" / "plots.py"
    return ([module] if module.exists() else []) + sorted((REPO / "hpsearch" / "plots").rglob("*.py"))


def test_the_finder_resolves_relative_imports():
    package = REPO / "hpsearch" / "plots"
    assert module_name(package / "__init__.py") == "hpsearch.plots"
    assert module_name(REPO / "hpsearch" / "results.py") == "hpsearch.results"
    finder = ImportFinder(package / "x.py", inside_functions=True)
    finder.visit(ast.parse("from . import style\nfrom ..config import load\nfrom .. import results\n"
                           "import deap.base\nfrom typing import TYPE_CHECKING\n"
                           "if TYPE_CHECKING:\n    from hpsearch.search import GeneticSearch\n"
                           "def f():\n    import joblib\n"))
    assert finder.imports == [("hpsearch.plots", ("style",)), ("hpsearch.config", ("load",)),
                              ("hpsearch", ("results",)), ("deap.base", ()), ("typing", ("TYPE_CHECKING",)),
                              ("joblib", ())]
    top_level = ImportFinder(package / "__init__.py", inside_functions=False)
    top_level.visit(ast.parse("from .style import x\nfrom ..pareto import knee\ndef f():\n    import deap\n"))
    assert top_level.imports == [("hpsearch.plots.style", ("x",)), ("hpsearch.pareto", ("knee",))]


def test_netcore_imports_nothing_of_hpsearch():
    files = source_files("netcore")
    assert files
    assert offences(files, ["hpsearch"]) == []


def test_only_evolve_imports_deap():
    files = [path for package in PACKAGES for path in source_files(package)
             if path != REPO / "hpsearch" / "evolve.py"]
    assert offences(files, ["deap"]) == []
    assert offences([REPO / "hpsearch" / "evolve.py"], ["deap"])  # the rule is not empty


def test_plots_import_nothing_of_the_engine():
    files = plots_files()
    assert files, "neither hpsearch/plots.py nor hpsearch/plots/"
    assert offences(files, ENGINE) == []


# Modules that, like the plots, only read a results directory's files (report.html, compare,
# hpsearch show) and their building blocks.
FILE_READERS = ("hpsearch/report.py", "hpsearch/compare.py", "hpsearch/htmlpage/__init__.py",
                "hpsearch/leaderboard.py", "hpsearch/formatting.py", "hpsearch/summary.py")


def test_report_and_compare_import_nothing_of_the_engine():
    files = [REPO / name for name in FILE_READERS]
    assert all(path.exists() for path in files)
    assert offences(files, ENGINE) == []


# `import hpsearch.plots` runs hpsearch/__init__.py first: whatever it imports counts.
LOADED = """
import sys
import hpsearch.plots, hpsearch.report, hpsearch.compare, hpsearch.summary
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in ("deap", "joblib", "netcore"))))
"""


@pytest.mark.slow
def test_importing_plots_loads_no_engine_library():
    done = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == []


def module_graph(inside_functions=False):
    """{module: the modules of netcore and hpsearch it imports when it is imported}; with
    inside_functions, also those its functions import."""
    paths = {module_name(path): path for package in PACKAGES for path in source_files(package)}
    graph = {}
    for name, path in paths.items():
        targets = set()
        for module, taken in imports_of(path, inside_functions=inside_functions):
            # `from a import b` needs the module a.b if there is one, else a's __init__.
            found = [f"{module}.{item}" for item in taken if f"{module}.{item}" in paths]
            if len(found) < len(taken) or not taken:
                # Also a itself (or, for `import a.b.c`, the deepest module of the dotted name).
                parts = module.split(".")
                while parts and ".".join(parts) not in paths:
                    parts.pop()
                found += [".".join(parts)] if parts else []
            targets.update(target for target in found if target != name)
        graph[name] = targets
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm), each
    as a sorted list."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules():
    graph = module_graph()
    assert {"netcore", "hpsearch", "hpsearch.evolve"} <= set(graph)
    assert cycles(graph) == []
