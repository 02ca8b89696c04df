import pytest

from hpsearch.datasets import load_dataset, scale_splits, split_dataset


@pytest.fixture(scope="session")
def digits_splits():
    """scikit-learn's digits, split with seed 0 and scaled to [0, 1]."""
    return scale_splits(split_dataset(load_dataset("digits"), seed=0), "fixed")
