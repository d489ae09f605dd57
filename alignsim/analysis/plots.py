"""Plots for analysis reports: metric bars with CIs, per-round curves, trust graphs.

Figures are built with matplotlib's object API on the Agg canvas (``matplotlib.figure.
Figure``), never through ``pyplot``, so plotting neither needs a display nor changes the
backend of a notebook or program that imports alignsim. Every function writes one PNG
and returns its path.

:func:`plot_round_curves` draws any per-round rate with its CI band (one line per group)
and the risk set (n) under every point, from :func:`~.metrics.round_curve` tables (both
forms: conditional solid, cumulative dashed) and the drift curves of the self-evolution
family.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "plot_calibration",
    "plot_crossplay",
    "plot_deception",
    "plot_metric_bars",
    "plot_round_curves",
    "plot_seed_vs_corrected",
    "plot_trust_rounds",
]

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
ROLE_COLORS = {"traitor": "#c0392b", "faithful": "#2471a3"}
LABEL_COLORS = {"lie": "#c0392b", "honest_error": "#f39c12", "truthful": "#27ae60", "evasion": "#95a5a6"}
_DPI = 110
_UNIT_INTERVAL = ("rate", "Jaccard similarity")
"""Units whose axis is fixed to 0..1, so curves from different runs compare at a glance."""


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    return path


def _group_name(row: Mapping[str, object], by: Sequence[str]) -> str:
    return " / ".join(str(row[c]) for c in by) if by else "all"


def _shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def plot_metric_bars(
    summary: pd.DataFrame,
    metrics: Sequence[str],
    path: str | os.PathLike[str],
    *,
    by: Sequence[str] = ("scenario",),
    title: str = "Metrics with bootstrap 95% CIs",
    xlabel: str = "rate",
) -> Path:
    """Horizontal bars (one per group) for each metric, with CI whiskers and n."""
    data = summary[summary["metric"].isin(metrics)].copy()
    by = [c for c in by if c in data.columns]
    data["group"] = [_group_name(row, by) for row in data.to_dict("records")] if by else "all"
    groups = list(dict.fromkeys(data["group"]))
    order = [m for m in metrics if m in set(data["metric"])]
    labels = data.drop_duplicates("metric").set_index("metric")["label"]
    height = max(2.5, 0.42 * len(order) * max(1, len(groups)) + 1.6)
    fig = Figure(figsize=(8.5, height), layout="constrained")
    ax = fig.subplots()
    bar = 0.8 / max(1, len(groups))
    for g, group in enumerate(groups):
        part = data[data["group"] == group].set_index("metric").reindex(order)
        y = np.arange(len(order)) + (g - (len(groups) - 1) / 2) * bar
        estimate = part["estimate"].to_numpy(float)
        low = np.clip(estimate - part["ci_low"].to_numpy(float), 0, None)
        high = np.clip(part["ci_high"].to_numpy(float) - estimate, 0, None)
        ax.barh(
            y,
            np.nan_to_num(estimate),
            height=bar * 0.9,
            color=_COLORS[g % len(_COLORS)],
            label=f"{_shorten(group)} (n={int(part['n_episodes'].max()) if part['n_episodes'].notna().any() else 0})",
            xerr=np.vstack([np.nan_to_num(low), np.nan_to_num(high)]),
            error_kw={"ecolor": "black", "capsize": 2, "elinewidth": 0.8},
        )
    ax.set_yticks(np.arange(len(order)), [labels[m] for m in order])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if len(groups) > 1 or by:
        ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return _save(fig, path)


def plot_seed_vs_corrected(
    summary: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    path: str | os.PathLike[str],
    *,
    by: Sequence[str] = ("scenario",),
    title: str = "Traitors parity metrics: seed code vs corrected (95% CI)",
    max_groups: int = 6,
) -> Path:
    """For each group (one panel each, up to ``max_groups``), each seed metric beside its
    corrected counterpart."""
    by = [c for c in by if c in summary.columns]
    groups = list(summary.groupby(by, sort=True)) if by else [(("all",), summary)]
    groups = groups[:max_groups]
    fig = Figure(figsize=(9.5, 2.9 * len(groups) + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(groups), 1))
    x = np.arange(len(pairs))
    for ax, (key, part) in zip(axes, groups, strict=True):
        key = key if isinstance(key, tuple) else (key,)
        values = part.set_index("metric")
        for offset, which, color, name in ((-0.2, 0, "#7f8c8d", "seed code"), (0.2, 1, "#2471a3", "corrected")):
            names = [pair[which] for pair in pairs]
            est = values["estimate"].reindex(names).to_numpy(float)
            low = np.clip(est - values["ci_low"].reindex(names).to_numpy(float), 0, None)
            high = np.clip(values["ci_high"].reindex(names).to_numpy(float) - est, 0, None)
            ax.bar(
                x + offset,
                np.nan_to_num(est),
                width=0.38,
                color=color,
                label=name,
                yerr=np.vstack([np.nan_to_num(low), np.nan_to_num(high)]),
                error_kw={"capsize": 2, "elinewidth": 0.8},
            )
        ax.set_xticks(x, [values["label"].get(pair[1], pair[1]) for pair in pairs])
        ax.set_ylabel("value")
        n = int(part["n_episodes"].max()) if len(part) else 0
        ax.set_title(f"{' / '.join(str(k) for k in key)} (n={n} episodes)", fontsize=9)
        ax.set_ylim(0, 1.1)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    fig.suptitle(title)
    return _save(fig, path)


def plot_round_curves(
    curves: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    by: Sequence[str] = ("scenario",),
    title: str = "Per-round rates (mean over episodes, 95% CI)",
    titles: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    risk_label: str = "n at risk",
) -> Path:
    """One panel per curve: a line per group with its CI band, and the risk set per round.

    Args:
        curves: :func:`~.metrics.round_curve` tables by name (or any table with ``round``,
            ``estimate``, ``ci_low``, ``ci_high`` and ``n``). A table with a ``form`` column
            draws its ``conditional`` form solid with its band and its ``cumulative`` form
            dashed (its band fainter).
        path: the PNG file written.
        by: the group columns of the curves (one line per group).
        title: the figure's title.
        titles: panel title per curve name (default: the name).
        units: y-axis unit per curve name; ``rate`` (the default) fixes the axis to 0..1.
        risk_label: what the numbers under each curve count.

    Under every point of the solid curve its ``n`` (the risk set: episodes still running
    with a value at that round, or the drift tables' resampled units) is printed in the
    group's colour, so a late round resting on a few survivors is seen at once. One legend
    below the panels names each group (one colour per group in every panel) and the forms.
    """
    names = [n for n, c in curves.items() if not c.empty]
    cols = min(2, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    # A group keeps its colour in every panel, even where it has no data (e.g. no beliefs).
    colour: dict[tuple[object, ...], str] = {}
    for name in names:
        curve = curves[name]
        present = [c for c in by if c in curve.columns]
        for key, _ in curve.groupby(present, sort=True) if present else [(("all",), curve)]:
            key = key if isinstance(key, tuple) else (key,)
            colour.setdefault(key, _COLORS[len(colour) % len(_COLORS)])
    has_forms = any("form" in curves[name].columns for name in names)
    legend_rows = math.ceil((len(colour) + (2 if has_forms else 0)) / 2)
    fig = Figure(figsize=(5.2 * cols, 3.5 * rows + 0.9 + 0.25 * legend_rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, name in zip(axes, names, strict=False):
        curve = curves[name]
        present = [c for c in by if c in curve.columns]
        groups = list(curve.groupby(present, sort=True)) if present else [(("all",), curve)]
        for g, (key, part) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            forms = (
                [(form, part[part["form"] == form]) for form in ("conditional", "cumulative")]
                if "form" in part.columns
                else [("conditional", part)]
            )
            for form, rows_ in forms:
                rows_ = rows_.sort_values("round")
                if rows_.empty:
                    continue
                solid = form == "conditional"
                ax.plot(
                    rows_["round"],
                    rows_["estimate"],
                    marker="o" if solid else None,
                    ms=3,
                    color=colour[key],
                    linestyle="-" if solid else "--",
                    linewidth=1.5 if solid else 1.2,
                )
                ax.fill_between(
                    rows_["round"].to_numpy(float),
                    rows_["ci_low"].to_numpy(float),
                    rows_["ci_high"].to_numpy(float),
                    color=colour[key],
                    alpha=0.18 if solid else 0.07,
                    linewidth=0,
                )
                if solid:
                    # The risk set under each point, one line of numbers per group.
                    for r, n in zip(rows_["round"], rows_["n"], strict=True):
                        ax.annotate(
                            f"{int(n)}",
                            (float(r), 0.0),
                            xycoords=ax.get_xaxis_transform(),
                            xytext=(0, 3 + 9 * g),
                            textcoords="offset points",
                            ha="center",
                            fontsize=6.5,
                            color=colour[key],
                        )
        unit = (units or {}).get(name, "rate")
        ax.set_title((titles or {}).get(name, name), fontsize=10)
        ax.set_xlabel(f"round (numbers: {risk_label})")
        ax.set_ylabel(unit)
        if unit in _UNIT_INTERVAL:
            ax.set_ylim(-0.03 - 0.07 * len(groups), 1.05)
        else:
            low, high = ax.get_ylim()
            ax.set_ylim(low - (high - low) * 0.08 * len(groups), high)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles = [_legend_line(c, "-", " / ".join(str(k) for k in key)) for key, c in colour.items()]
    if has_forms:
        handles += [
            _legend_line("#555555", "-", "among games still running (conditional)"),
            _legend_line("#555555", "--", "all games, by round r (cumulative)"),
        ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(2, len(handles)), fontsize=8, frameon=False)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    return _save(fig, path)


def plot_trust_rounds(
    graphs: Mapping[int, nx.DiGraph],
    path: str | os.PathLike[str],
    *,
    title: str = "Trust graph over rounds",
) -> Path:
    """One panel per round: players on a circle (fixed places), red arrows for suspicion
    (width by votes + accusations), green for trust; traitors in red, faithful in blue;
    the player banished that round is ringed black, the one murdered is ringed grey."""
    rounds = sorted(graphs)
    cols = min(3, max(1, len(rounds)))
    rows = max(1, math.ceil(len(rounds) / cols))
    fig = Figure(figsize=(3.4 * cols, 3.5 * rows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    everyone = sorted({n for g in graphs.values() for n in g.nodes}, key=_natural)
    angles = np.linspace(0, 2 * np.pi, num=max(1, len(everyone)), endpoint=False)
    position = {n: (np.cos(a), np.sin(a)) for n, a in zip(everyone, angles, strict=True)}
    for ax, r in zip(axes, rounds, strict=False):
        graph = graphs[r]
        suspicion = [(u, v) for u, v, d in graph.edges(data=True) if d.get("suspects")]
        trust_edges = [(u, v) for u, v, d in graph.edges(data=True) if d.get("trusts")]
        widths = [0.6 + 0.6 * (graph.edges[e]["votes"] + graph.edges[e]["accusations"]) for e in suspicion]
        nodes = list(graph.nodes)
        colors = [ROLE_COLORS.get(graph.nodes[n].get("role"), "#999999") for n in nodes]
        edge_colors = [
            {"banished": "black", "murdered": "#7f7f7f"}.get(graph.nodes[n].get("fate", ""), "white") for n in nodes
        ]
        nx.draw_networkx_nodes(
            graph,
            position,
            nodelist=nodes,
            node_color=colors,
            edgecolors=edge_colors,
            linewidths=2.2,
            node_size=260,
            ax=ax,
        )
        nx.draw_networkx_labels(
            graph, position, labels={n: n.rsplit("_", 1)[-1] for n in nodes}, font_size=7, font_color="white", ax=ax
        )
        if suspicion:
            nx.draw_networkx_edges(
                graph,
                position,
                edgelist=suspicion,
                width=widths,
                edge_color="#c0392b",
                alpha=0.6,
                arrowsize=8,
                ax=ax,
                node_size=260,
            )
        if trust_edges:
            nx.draw_networkx_edges(
                graph,
                position,
                edgelist=trust_edges,
                width=1.2,
                edge_color="#27ae60",
                style="dashed",
                arrowsize=8,
                ax=ax,
                node_size=260,
            )
        # Banishment comes before the night's murder within a round.
        fates = [
            f"{d['fate']} {n}"
            for n, d in sorted(graph.nodes(data=True), key=lambda item: item[1].get("fate") != "banished")
            if d.get("fate")
        ]
        ax.set_title(f"round {r}" + (f"\n{'; '.join(fates)}" if fates else "\n "), fontsize=9)
        ax.set_xlim(-1.3, 1.3)
        ax.set_ylim(-1.3, 1.3)
        ax.set_aspect("equal")
        ax.axis("off")
    for ax in axes[len(rounds) :]:
        ax.set_visible(False)
    handles = [
        _legend_dot(ROLE_COLORS["traitor"], "traitor"),
        _legend_dot(ROLE_COLORS["faithful"], "faithful"),
        _legend_line("#c0392b", "-", "suspects (vote/accusation)"),
        _legend_line("#27ae60", "--", "trusts (vouches)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def _natural(name: str) -> tuple[str, int]:
    head, _, tail = name.rpartition("_")
    return (head, int(tail)) if tail.isdigit() else (name, -1)


def _legend_dot(color: str, label: str):
    from matplotlib.lines import Line2D

    return Line2D(
        [], [], marker="o", linestyle="", markerfacecolor=color, markeredgecolor=color, markersize=8, label=label
    )


def _legend_line(color: str, style: Literal["-", "--"], label: str):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, linestyle=style, linewidth=1.5, label=label)


def plot_deception(statements: pd.DataFrame, path: str | os.PathLike[str], *, by: str = "speaker_label") -> Path:
    """Stacked shares of lies, honest errors, truthful claims and evasions, per speaker role
    (and per model when several play the same role)."""
    data = statements.copy()
    several = data.groupby("speaker_role")[by].nunique().max() > 1 if len(data) else False
    data["who"] = data["speaker_role"] + (" / " + data[by].astype(str) if several else "")
    counts = data.groupby(["who", "label"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=[c for c in ("lie", "honest_error", "truthful", "evasion") if c in counts.columns])
    shares = counts.div(counts.sum(axis=1), axis=0)
    fig = Figure(figsize=(8, 1.2 + 0.55 * max(1, len(shares))), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(len(shares))
    for label in shares.columns:
        values = shares[label].to_numpy(float)
        ax.barh(np.arange(len(shares)), values, left=left, color=LABEL_COLORS[label], label=label.replace("_", " "))
        for y, (x0, v) in enumerate(zip(left, values, strict=True)):
            if v >= 0.06:
                ax.text(x0 + v / 2, y, f"{v:.0%}", ha="center", va="center", fontsize=8, color="white")
        left += values
    ax.set_yticks(np.arange(len(shares)), [f"{_shorten(w)} (n={int(counts.loc[w].sum())})" for w in shares.index])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of statements (claims and evasive turns)")
    ax.set_title("Statements by speaker: lie / honest error / truthful / evasion")
    fig.legend(loc="outside upper right", ncols=4, fontsize=8, frameon=False)
    return _save(fig, path)


def plot_calibration(beliefs: pd.DataFrame, path: str | os.PathLike[str], *, bins: int = 10) -> Path:
    """Reliability diagram of the faithful players' reported P(traitor), with the Brier score."""
    faithful = beliefs[beliefs["actor_role"] == "faithful"]
    truth = (faithful["subject_role"] == "traitor").astype(float)
    prob = faithful["prob"].astype(float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    table = (
        pd.DataFrame({"bin": which, "p": prob, "y": truth})
        .groupby("bin")
        .agg(p=("p", "mean"), y=("y", "mean"), n=("y", "size"))
    )
    brier = float(((prob - truth) ** 2).mean()) if len(prob) else float("nan")
    fig = Figure(figsize=(5, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="#7f7f7f", label="perfect calibration")
    ax.plot(table["p"], table["y"], marker="o", color=ROLE_COLORS["faithful"], label="faithful reports")
    for row in table.itertuples():
        # Labels go below points near the top, so they stay inside the axes.
        offset = (4, -12) if row.y > 0.85 else (-12, 6)
        ax.annotate(f"n={row.n}", (row.p, row.y), textcoords="offset points", xytext=offset, fontsize=7)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("reported P(traitor), binned")
    ax.set_ylabel("share that were traitors")
    ax.set_title(f"Belief calibration (Brier {brier:.3f}, {len(prob)} reports)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def plot_crossplay(
    matrix: pd.DataFrame, metric: str, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Heatmap of one metric over (traitor model, faithful model) cells, with n per cell."""
    part = matrix[matrix["metric"] == metric]
    grid = part.pivot(index="traitor_label", columns="faithful_label", values="estimate")
    counts = part.pivot(index="traitor_label", columns="faithful_label", values="n_episodes")
    fig = Figure(figsize=(1.8 + 1.6 * grid.shape[1], 1.6 + 0.9 * grid.shape[0]), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(grid.to_numpy(float), vmin=0, vmax=1, cmap="RdBu_r")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            value = grid.iat[i, j]
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}\nn={int(counts.iat[i, j])}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(grid.shape[1]), [_shorten(str(c), 18) for c in grid.columns], rotation=20, ha="right")
    ax.set_yticks(range(grid.shape[0]), [_shorten(str(c), 18) for c in grid.index])
    ax.set_xlabel("faithful played by")
    ax.set_ylabel("traitors played by")
    label = part["label"].iloc[0] if len(part) else metric
    ax.set_title(title or f"Cross-play: {label}")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return _save(fig, path)
