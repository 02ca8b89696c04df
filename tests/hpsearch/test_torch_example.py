"""experiments/torch_ask_tell.py: the ask/tell loop with a PyTorch model of the user's runs,
learns, is reproducible and resumes. Skipped where torch is not installed (it is not a
dependency of hpsearch)."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (not an hpsearch dependency; "
                                            "pip install torch to run the PyTorch example)")

EXAMPLE = Path(__file__).resolve().parents[2] / "experiments" / "torch_ask_tell.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("torch_ask_tell", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.set_num_threads(1)
    return module


def test_the_pytorch_loop_learns_and_is_reproducible(example, tmp_path):
    result, test = example.search(out_dir=tmp_path / "run", max_evaluations=10, population=4, quiet=True)
    assert result.best_score > 0.8 and test > 0.8
    assert set(result.trials["status"]) == {"ok"} and "train_accuracy" in result.trials
    state = torch.random.get_rng_state()
    again, _ = example.search(max_evaluations=10, population=4, quiet=True)
    assert torch.equal(state, torch.random.get_rng_state())  # the trials leave the process's RNG alone
    columns = ["trial_id", "lr", "hidden", "dropout", "optimizer", "schedule", "fitness", "seed"]
    pd.testing.assert_frame_equal(result.trials[columns], again.trials[columns])
    # the directory resumes: a larger budget goes on from the saved generations
    longer, _ = example.search(out_dir=tmp_path / "run", max_evaluations=14, population=4, quiet=True)
    n = len(result.trials)  # its 10 trainings, and a proposal the cache answered, if any
    pd.testing.assert_frame_equal(longer.trials[columns].iloc[:n], result.trials[columns])
    assert (~result.trials["cached"]).sum() == 10 and (~longer.trials["cached"]).sum() == 14
