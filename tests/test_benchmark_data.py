"""The benchmarks' tuning task fashion-test-3k keeps the promise benchmarks/README.md makes."""

import sys
from pathlib import Path

import numpy as np
import pytest

from hpsearch.datasets import load_dataset, split_dataset

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def pixel_rows(X):
    """Each image's raw pixels as bytes, to compare images across data sets."""
    return [row.tobytes() for row in np.rint(X).astype(np.uint8)]


@pytest.mark.skipif(not (DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason=f"Fashion-MNIST absent from {DEBIAN_FASHION} (apt-get install dataset-fashion-mnist)")
def test_fashion_test_3k_shares_no_image_with_the_reported_fashion_sets_training_or_validation():
    from common import fashion_test_splits

    splits = fashion_test_splits()
    assert (len(splits.X_train), len(splits.X_val), len(splits.X_test)) == (3000, 1500, 1500)
    mine = pixel_rows(np.concatenate([splits.X_train, splits.X_val, splits.X_test]) * 255)
    test_images = set(pixel_rows(load_dataset("fashion-mnist").X_test))
    assert all(row in test_images for row in mine)  # every image from the official test set
    assert len(set(mine)) == 6000
    for n_train, val_fraction, seed in ((7_000, 2 / 7, 1), (15_000, 1 / 3, 0)):  # fashion-mnist-5k, -10k
        reported = split_dataset(load_dataset("fashion-mnist", n_train=n_train, seed=seed), val_fraction, seed=seed)
        searched = set(pixel_rows(np.concatenate([reported.X_train, reported.X_val])))
        assert not any(row in searched for row in mine)


@pytest.mark.skipif(not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").is_file(),
                    reason=f"Fashion-MNIST absent from {DEBIAN_FASHION} (apt-get install dataset-fashion-mnist)")
@pytest.mark.slow  # loads Fashion-MNIST five times (8-40 s on the shared VM)
def test_issue24_held_out_tasks_share_no_image_with_each_other_or_any_earlier_task():
    from common import HELD_OUT_TASKS, TOPS, held_out_rows, held_out_splits

    official = load_dataset("fashion-mnist")
    rows = held_out_rows(official)
    assert [len(rows[task]) for task in HELD_OUT_TASKS] == [6_000, 9_000, 7_000]
    assert len(np.unique(np.concatenate(list(rows.values())))) == 22_000
    assert set(np.unique(official.y[rows["fashion-tops-4k"]])) == set(TOPS)
    # By pixels, not only by row: an earlier task's searched images, the official test set
    # (fashion-test-3k and the earlier test columns) and the other held-out tasks.
    earlier = set(pixel_rows(official.X_test))
    for n_train, val_fraction, seed in ((7_000, 2 / 7, 1), (15_000, 1 / 3, 0)):  # fashion-mnist-5k, -10k
        reported = split_dataset(load_dataset("fashion-mnist", n_train=n_train, seed=seed), val_fraction, seed=seed)
        earlier |= set(pixel_rows(np.concatenate([reported.X_train, reported.X_val])))
    seen = set()
    for task in HELD_OUT_TASKS:
        splits = held_out_splits(task)
        images = pixel_rows(np.concatenate([splits.X_train, splits.X_val, splits.X_test]) * 255)
        assert len(images) == len(rows[task]) and len(splits.X_val) >= 1_499 and len(splits.X_train) >= 3_000
        assert not earlier & set(images), task
        assert not seen & set(images), task
        seen |= set(images)
    assert set(held_out_splits("fashion-tops-4k").y_val) == set(range(5))  # renumbered 0-4
