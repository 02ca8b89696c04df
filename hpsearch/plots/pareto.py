"""The Pareto front of a multi-objective search, per generation, from fronts.csv and
pareto.csv."""

from typing import Any

from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..results import SearchResult
from .family import Plot, RunFiles, Skip
from .features import pretty
from .style import CMAP, FIGSIZE, AxesArg, single_axes

OBJECTIVE_LABELS = {"n_params": "parameters", "train_seconds": "training time (s)",
                    "latency": "inference latency (s per sample)"}


def pareto_data(result: SearchResult) -> dict[str, Any] | None:
    """The multi-objective view of a results directory, from fronts.csv and pareto.csv:
    {"objectives": the first two objective names, "fronts": fronts.csv's rows (generation,
    trial_id, objective values), each generation's front sorted by the first objective,
    "final": pareto.csv's front sorted likewise, "knee": its knee row}. None when the
    directory has no fronts (a single-objective search)."""
    fronts, final = result.fronts, result.pareto
    if fronts.empty or final.empty:
        return None
    objectives = [c for c in fronts.columns if c not in ("generation", "trial_id")][:2]
    if len(objectives) < 2:
        return None
    fronts = fronts.sort_values(["generation", objectives[0], "trial_id"], kind="stable")
    fronts = fronts.reset_index(drop=True)
    final = final.sort_values([objectives[0], "trial_id"], kind="stable").reset_index(drop=True)
    return {"objectives": objectives, "fronts": fronts, "final": final,
            "knee": final[final["knee"].astype(bool)]}


def draw_pareto(data: dict[str, Any], fitness_label: str = "fitness", ax: AxesArg = None) -> Figure:
    """Fronts of earlier generations faded, coloured by generation; the final front in
    black, its knee starred."""
    x, y = data["objectives"]
    fronts, final, knee = data["fronts"], data["final"], data["knee"]
    fig, ax, _ = single_axes(ax, FIGSIZE)
    generations = fronts["generation"].unique()
    colours = ScalarMappable(norm=Normalize(generations.min(), max(generations.max(), generations.min() + 1)),
                             cmap=CMAP)
    for generation in generations[:-1]:
        front = fronts[fronts["generation"] == generation]
        ax.plot(front[x], front[y], "o-", color=colours.to_rgba(generation), alpha=0.35, markersize=3,
                linewidth=1)
    ax.plot(final[x], final[y], "o-", color="black", markersize=6, linewidth=1.8,
            label=f"final front ({len(final)} trials)")
    if len(knee):
        ax.plot(knee[x], knee[y], "*", color="tab:red", markersize=18, markeredgecolor="black",
                label=f"knee (trial {int(knee['trial_id'].iloc[0])})")
    labels = {name: fitness_label if name == "val_metric" else OBJECTIVE_LABELS.get(name, pretty(name))
              for name in (x, y)}
    ax.set(title="Pareto front per generation", xlabel=labels[x], ylabel=labels[y])
    # Sizes and times matter by their ratios: a log axis once they span a decade.
    for name, set_scale in ((x, ax.set_xscale), (y, ax.set_yscale)):
        values = fronts[name].to_numpy(dtype=float)
        if name != "val_metric" and values.min() > 0 and values.max() > 10 * values.min():
            set_scale("log")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.colorbar(colours, ax=ax, label="generation (earlier fronts)")
    return fig



def _pareto(run: RunFiles) -> Figure | Skip:
    data = pareto_data(run.result)
    if data is None:
        return Skip("not a multi-objective search", note=False)
    return draw_pareto(data, run.fitness_label)


PLOTS = (Plot("pareto", _pareto),)
