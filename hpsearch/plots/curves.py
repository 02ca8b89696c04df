"""Learning curves of the best trials, from curves.csv."""

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..results import SearchResult
from .family import Plot, RunFiles, Skip
from .features import top_trials
from .style import AxesArg, figure, log_axis, panel_axes


def curves_data(result: SearchResult, k: int = 5) -> pd.DataFrame:
    """Learning curves of the k best successful trials that have curves: curves.csv's rows
    (trial_id, epoch, train_loss, val_loss, val_metric, ...) plus fitness and rank (1 =
    best), ordered by rank and epoch; empty without curves."""
    curves = result.curves
    if curves.empty or "trial_id" not in curves:
        return pd.DataFrame(columns=["trial_id", "epoch", "fitness", "rank"])
    with_curves = result.trials[result.trials["trial_id"].isin(curves["trial_id"])]
    best = top_trials(with_curves, k)
    rank = {trial_id: r for r, trial_id in enumerate(best["trial_id"], start=1)}
    frame = curves[curves["trial_id"].isin(rank)].merge(best[["trial_id", "fitness"]], on="trial_id")
    frame["rank"] = frame["trial_id"].map(rank)
    return frame.sort_values(["rank", "epoch"], kind="stable").reset_index(drop=True)


def draw_curves(data: pd.DataFrame, fitness_label: str = "fitness", ax: AxesArg = None) -> Figure:
    """Two panels: the validation metric per epoch (the main panel) and the losses. With
    ax, the first len(ax) panels are drawn into the given Axes."""
    metric_label = fitness_label if fitness_label.startswith("validation") else "validation metric"
    fig, axes, _ = panel_axes(ax, 2, lambda: _figure())
    metric_ax, loss_ax = axes[0], axes[1] if len(axes) > 1 else None
    losses_positive = True
    for rank, curve in data.groupby("rank"):
        color = f"C{(rank - 1) % 10}"
        name = f"#{curve['trial_id'].iloc[0]} ({curve['fitness'].iloc[0]:.4g})"
        if "val_metric" in curve:
            metric_ax.plot(curve["epoch"], curve["val_metric"], "o-", color=color, markersize=3, label=name)
        for column, style in (("train_loss", "--"), ("val_loss", "-")):
            if column in curve and loss_ax is not None:
                loss_ax.plot(curve["epoch"], curve[column], style, color=color)
                losses_positive &= bool((curve[column] > 0).all())
    metric_ax.set(title=f"Top {data['rank'].nunique()} trials: {metric_label}", xlabel="epoch",
                  ylabel=metric_label)
    metric_ax.legend(title="trial (fitness)", fontsize="small", title_fontsize="small")
    if loss_ax is not None:
        if losses_positive:
            log_axis(loss_ax, "y")
        loss_ax.set(title="Loss (dashed: train, solid: validation)", xlabel="epoch",
                    ylabel="loss" + (" (log scale)" if losses_positive else ""))
    for panel in axes:
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        panel.grid(alpha=0.3)
    return fig


def _figure():
    fig = figure((11.0, 4.5))
    return fig, fig.subplots(1, 2)


def _curves(run: RunFiles) -> Figure | Skip:
    data = curves_data(run.result)
    if not len(data):
        return Skip("curves.csv has no learning curves")
    return draw_curves(data, run.fitness_label)


PLOTS = (Plot("curves", _curves),)
