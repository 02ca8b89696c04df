"""docs/EXTENDING.md's strategy works as the page says: one file, registered, usable from
Python and from a config, deterministic, and recording the lineage it proposes."""

import re
import tomllib
from pathlib import Path

import pytest

from hpsearch import GeneticSearch
from hpsearch.config import ConfigError, parse_config
from hpsearch.strategies import BREEDINGS

from ..objectives import bowl, toy_space

PAGE = Path(__file__).resolve().parents[3] / "docs" / "EXTENDING.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(language):
    return [text for lang, text in BLOCK.findall(PAGE.read_text()) if lang == language]


@pytest.fixture
def local_search():
    """The page's strategy module, executed as written (registering "local")."""
    namespace = {"__name__": "my_search.local"}
    exec(compile(blocks("python")[0], "EXTENDING.md", "exec"), namespace)  # noqa: S102
    yield namespace["LocalSearch"]
    del BREEDINGS["local"]


def test_the_pages_strategy_searches_deterministically_and_records_its_lineage(local_search, assert_same_results):
    def run():
        return GeneticSearch(toy_space(), bowl, breeding=local_search(top=2), max_evaluations=30, n_jobs=1,
                             seed=4, quiet=True).run()

    result = run()
    assert_same_results(result, run())
    trials = result.trials
    later = trials[(trials["generation"] > 0) & ~trials["cached"] & (trials["seed_index"] == 0)]  # not races
    assert len(later) and set(later["operator"]) == {"local"}
    # One parent each: a trial of an earlier generation.
    assert (later["parents"].map(len) == 1).all()
    generation_of = trials.set_index("trial_id")["generation"]
    parents = [parent for (parent,) in later["parents"]]
    assert (generation_of[parents].to_numpy() < later["generation"].to_numpy()).all()


def test_the_pages_config_names_the_strategy_and_its_option(local_search):
    table = tomllib.loads(blocks("toml")[0])
    config = parse_config({"dataset": {"name": "digits"}, **table})
    assert config.breeding == local_search(top=2)
    with pytest.raises(ConfigError, match=r"^breeding.tpo: not an option of breeding strategy 'local' "
                                          r"\(did you mean 'top'\?"):
        parse_config({"dataset": {"name": "digits"}, "breeding": {"strategy": "local", "tpo": 2}})
    with pytest.raises(ConfigError, match=r"^breeding.top: must be an integer >= 1, got 0"):
        parse_config({"dataset": {"name": "digits"}, "breeding": {"strategy": "local", "top": 0}})
