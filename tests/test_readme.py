"""Every example in README.md runs as written: each ```python block is executed (in a fresh
folder, with the data it names where it only shows the calls), each ```toml block parses,
and the complete configs among them build a search."""

import re
import tomllib
from pathlib import Path

import pytest

from hpsearch.datasets import base as datasets_base

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)

# What a block that only shows calls needs defined first, keyed by a line of the block.
PRELUDES = {
    "from netcore import MLP, SGD, fit, MLPClassifier": """
import numpy as np
from hpsearch import load_dataset, split_dataset, scale_splits
_s = scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
X_train, X_val, X, y = _s.X_train, _s.X_val, _s.X_train, _s.y_train
Y_train_onehot, Y_val_onehot = np.eye(10, dtype=np.float32)[_s.y_train], np.eye(10, dtype=np.float32)[_s.y_val]
""",
}
# Blocks that need what a test machine does not have, with the reason.
NOT_HERE = {"from dask_jobqueue import SLURMCluster": "needs a SLURM or PBS cluster (dask-jobqueue)"}
# Blocks that train for a while: run in the slow suite only.
SLOW = ("from hpsearch import GeneticSearch",)


def blocks(language):
    return [(text, i) for i, (lang, text) in enumerate(BLOCK.findall(README.read_text())) if lang == language]


def block_id(block):
    first = next(line for line in block[0].splitlines() if line.strip() and not line.startswith("#"))
    return first[:50]


PYTHON = [pytest.param(b, id=block_id(b), marks=[pytest.mark.slow] if any(m in b[0] for m in SLOW) else [])
          for b in blocks("python")]


@pytest.mark.parametrize("block", PYTHON)
def test_python_examples_run(block, tmp_path, monkeypatch):
    text, number = block
    for marker, reason in NOT_HERE.items():
        if marker in text:
            pytest.skip(reason)
    prelude = "".join(code for marker, code in PRELUDES.items() if marker in text)
    monkeypatch.chdir(tmp_path)
    # An example may register a data set: later tests must see the registry as it was.
    monkeypatch.setattr(datasets_base, "_LOADERS", dict(datasets_base._LOADERS))
    monkeypatch.setattr(datasets_base, "_WHERE", dict(datasets_base._WHERE))
    exec(compile(prelude + text, f"README.md block {number}", "exec"), {"__name__": "readme_example"})


TOML = blocks("toml")


@pytest.mark.parametrize("block", TOML, ids=[block_id(b) for b in TOML])
def test_toml_examples_parse_and_complete_configs_build(block, tmp_path):
    from hpsearch.config import load_config

    text, _ = block
    table = tomllib.loads(text)  # every snippet is valid TOML
    if "dataset" in table:  # a whole config: it builds a search
        path = tmp_path / "example.toml"
        path.write_text(text)
        load_config(path)
