"""The benchmarks' tuning task fashion-test-3k keeps the promise benchmarks/README.md makes."""

import sys
from pathlib import Path

import numpy as np
import pytest

from hpsearch.datasets import load_dataset, split_dataset

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason=f"Fashion-MNIST absent from {DEBIAN_FASHION} (apt-get install dataset-fashion-mnist)")
def test_fashion_test_3k_shares_no_image_with_the_reported_fashion_sets_training_or_validation():
    from common import fashion_test_splits

    splits = fashion_test_splits()
    assert (len(splits.X_train), len(splits.X_val), len(splits.X_test)) == (3000, 1500, 1500)
    mine = np.concatenate([splits.X_train, splits.X_val, splits.X_test])
    official = load_dataset("fashion-mnist")
    test_images = {row.tobytes() for row in official.X_test.astype(np.uint8)}
    as_pixels = np.rint(mine * 255).astype(np.uint8)
    assert all(row.tobytes() in test_images for row in as_pixels)  # every image from the official test set
    assert len({row.tobytes() for row in as_pixels}) == 6000
    for n_train, val_fraction, seed in ((7_000, 2 / 7, 1), (15_000, 1 / 3, 0)):  # fashion-mnist-5k, -10k
        reported = split_dataset(load_dataset("fashion-mnist", n_train=n_train, seed=seed), val_fraction, seed=seed)
        searched = {row.tobytes() for row in np.concatenate([reported.X_train, reported.X_val]).astype(np.uint8)}
        assert not any(row.tobytes() in searched for row in as_pixels)
