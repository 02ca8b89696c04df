"""CMA-ES breeding: the covariance matrix adaptation evolution strategy over the numeric genes.

CMA-ES (Hansen and Ostermeier 2001) samples each generation from a multivariate normal
distribution and moves its mean, step size and covariance towards the better samples; it
learns which numeric genes matter together (a learning rate with its momentum, say), which
the GA's gene-by-gene mutation cannot. The `cmaes` package (an optional dependency: pip
install 'hpsearch[cmaes]') does the adaptation, on every numeric gene's unit scale (log
genes on their log scale). Genes CMA-ES has no notion of, categories and layer lists, come
from children the GA breeds (tournaments, crossover, mutation), whose lineage is recorded.

The strategy keeps no state of its own: each generation replays every trained genome, in
order, through a fresh optimizer in batches of one generation's size, then samples the new
generation from it, seeded from the search's Generator. So a resumed search, and one run
with any n_jobs, proposes exactly what an uninterrupted one does.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .. import checks
from ..design import from_unit
from ..genes import FloatGene, IntGene
from .base import Breeding, History, Proposal, register_breeding

if TYPE_CHECKING:
    from ..space import Space


@register_breeding("cmaes")
@dataclass(frozen=True)
class CMAES(Breeding):
    """CMA-ES over the numeric genes (see the module docstring); single-objective.

    sigma: the initial step size, on the genes' unit scale (0.3 spreads the first samples
    over most of each range)."""

    single_objective: ClassVar[bool] = True
    initial_design: str = "latin_hypercube"
    sigma: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        checks.in_range("sigma", self.sigma, 0, 1, "(]")
        if importlib.util.find_spec("cmaes") is None:
            raise ValueError("strategy: 'cmaes' needs the cmaes package, which is not installed "
                             "(pip install 'hpsearch[cmaes]')")

    def check(self, space: Space) -> None:
        if not _numeric(space):
            raise ValueError("'cmaes' adapts numeric genes and the space has none with a range "
                             "(use 'model_assisted' or 'ga')")

    def propose(self, n: int, history: History, rng: np.random.Generator) -> list[Proposal]:
        from cmaes import CMA  # the optional dependency, loaded when used

        space = history.space
        genes = _numeric(space)
        optimizer = CMA(mean=np.full(len(genes), 0.5), sigma=self.sigma, bounds=np.tile([0.0, 1.0], (len(genes), 1)),
                        seed=int(rng.integers(2**31)), population_size=n)
        batch: list[tuple[np.ndarray, float]] = []
        losses = [_loss(outcome) for _, outcome in history.trained]
        worst = max((loss for loss in losses if math.isfinite(loss)), default=0.0)
        for genome, loss in zip(history.genomes(), losses):
            # A failed training (no score) ranks below every score.
            batch.append((np.array([gene.to_unit(genome[gene.name]) for gene in genes]),
                          loss if math.isfinite(loss) else worst + 1.0))
            if len(batch) == n:
                optimizer.tell(batch)
                batch = []
        proposals = []
        for child in history.parents.offspring(n, rng):  # the genes CMA-ES does not adapt
            genome = dict(child.genome)
            for gene, u in zip(genes, optimizer.ask()):
                genome[gene.name] = from_unit(gene, [float(u)])
            proposals.append(Proposal(genome, parents=child.parents, operator="cmaes"))
        return proposals


def _numeric(space: Space) -> list[Any]:
    return [gene for gene in space if isinstance(gene, (FloatGene, IntGene)) and gene.searchable]


def _loss(outcome: Any) -> float:
    """What CMA-ES minimises: minus the score every genome has (rung 0's under successive
    halving, as the model of ModelAssisted learns)."""
    return -float(outcome.get("rung0_score", outcome["fitness"]))
