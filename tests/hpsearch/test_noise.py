"""hpsearch.noise: shared seeds, t intervals, pooled noise, the paired drop rule."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpsearch import noise

finite = st.floats(-1e3, 1e3, allow_nan=False)


def test_shared_seeds_are_the_same_list_for_every_genome_and_differ_by_index():
    seeds = [noise.shared_seed(7, k) for k in range(50)]
    assert seeds == [noise.shared_seed(7, k) for k in range(50)]
    assert len(set(seeds)) == 50
    assert noise.shared_seed(8, 0) != seeds[0]
    with pytest.raises(ValueError, match="seed index"):
        noise.shared_seed(7, -1)


def test_estimate_matches_a_hand_worked_t_interval():
    e = noise.estimate([0.90, 0.92, 0.94])
    # mean 0.92, sd 0.02, t(0.975, 2) = 4.302653
    assert e.mean == pytest.approx(0.92) and e.sd == pytest.approx(0.02) and e.n == 3
    assert e.half_width == pytest.approx(4.302653 * 0.02 / math.sqrt(3), rel=1e-6)
    assert "mean of 3 trainings" in e.describe()


def test_estimate_of_one_training_has_no_interval_and_bad_input_is_refused():
    one = noise.estimate([0.5])
    assert one.n == 1 and math.isnan(one.low) and "no interval" in one.describe()
    with pytest.raises(ValueError, match="finite"):
        noise.estimate([])
    with pytest.raises(ValueError, match="finite"):
        noise.estimate([1.0, math.inf])


def test_t_interval_covers_the_true_mean_at_its_nominal_rate():
    rng = np.random.default_rng(0)
    covered = [(e := noise.estimate(rng.normal(1.0, 0.1, 4))).low <= 1.0 <= e.high for _ in range(4000)]
    assert 0.94 <= np.mean(covered) <= 0.96


@given(st.lists(st.lists(finite, min_size=1, max_size=6), max_size=8), finite)
def test_pooled_noise_ignores_a_shift_of_any_group(groups, shift):
    sd, dof = noise.pooled_noise(groups)
    shifted, dof2 = noise.pooled_noise([[x + shift for x in g] for g in groups[:1]] + groups[1:])
    assert dof == dof2 == sum(len(g) - 1 for g in groups if len(g) >= 2)
    if dof:
        assert shifted == pytest.approx(sd, abs=1e-6 * (1 + abs(shift)))
    else:
        assert math.isnan(sd)


def test_paired_differences_use_only_shared_seed_indices():
    d = noise.paired_differences({0: 0.5, 1: 0.7, 3: 0.1}, {1: 0.6, 0: 0.4, 2: 0.9})
    assert d.tolist() == pytest.approx([0.1, 0.1])


def test_clearly_worse_needs_evidence_beyond_the_noise():
    assert not noise.clearly_worse([-0.01], 0.015, z=1.0)       # within one training's noise
    assert noise.clearly_worse([-0.05], 0.015, z=1.0)
    assert noise.clearly_worse([-0.02] * 4, 0.015, z=1.0)        # four pairs say it
    assert not noise.clearly_worse([-0.05], math.nan, z=1.0)    # noise unknown: keep it
    assert not noise.clearly_worse([], 0.015, z=1.0)


def test_noise_is_negligible_for_a_deterministic_objective_or_on_enough_evidence():
    assert noise.noise_is_negligible(0.0, 1, 0.1, 0.05)             # one identical repeat
    assert not noise.noise_is_negligible(0.001, 1, 0.1, 0.05)       # one close pair proves little
    assert noise.noise_is_negligible(0.001, 30, 0.1, 0.05)
    assert not noise.noise_is_negligible(0.015, 30, 0.05, 0.05)
    assert not noise.noise_is_negligible(math.nan, 0, 0.1, 0.05)
