"""Step 6-7 presentation: the two slice plots and the ship memo with its recommendation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import LABELS, _MODELS
from .metrics import _SLICE_STATS_COLUMNS, verdict
from .stats import _fmt_change, _fmt_ci, wilson_interval
from .validate import _require_table


def _paired_barh(stats, bars, *, xlabel, title):
    """Horizontal grouped bars, one group per stats row (first row on top).

    ``bars``: list of (legend label, values, colour, xerr or None). Returns (fig, ax, containers).
    """
    from matplotlib.figure import Figure

    m = len(stats)
    fig = Figure(figsize=(8, max(2.5, 0.45 * m + 1.5)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(m)
    height = 0.8 / len(bars)
    containers = [
        ax.barh(y + (i - (len(bars) - 1) / 2) * height, np.nan_to_num(values), height=height,
                color=colour, label=label, xerr=xerr, capsize=2 if xerr is not None else 0)
        for i, (label, values, colour, xerr) in enumerate(bars)
    ]
    ax.set_yticks(y, [f"{s} (n={n})" for s, n in zip(stats["slice"], stats["n"])])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return fig, ax, containers


def plot_slice_accuracy(stats):
    """Baseline vs candidate accuracy per slice with 95% Wilson error bars.

    ``stats`` = output of slice_stats (row order kept, worst slice on top). Too-small slices are
    drawn grey and hatched. Returns the matplotlib Figure.
    """
    from matplotlib.patches import Patch

    _require_table(stats, _SLICE_STATS_COLUMNS, "plot_slice_accuracy")
    bars = []
    for model, colour in zip(_MODELS, ("tab:blue", "tab:orange")):
        acc = stats[f"{model}_acc"].to_numpy(float)
        err = np.nan_to_num([acc - stats[f"{model}_lo"], stats[f"{model}_hi"] - acc])
        bars.append((model, acc, colour, err))
    fig, ax, containers = _paired_barh(stats, bars, xlabel="accuracy (95% Wilson interval)",
                                       title="Accuracy per slice, worst delta first")
    for container in containers:
        for patch, small in zip(container.patches, stats["too_small"]):
            if small:
                patch.set(facecolor="lightgrey", hatch="//", edgecolor="grey")
    ax.set_xlim(0, 1.05)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor="lightgrey", hatch="//", edgecolor="grey", label="too small to judge"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="small")
    return fig


def plot_regressions(stats):
    """Regressions (candidate newly wrong) vs fixes (candidate newly right) per slice.

    ``stats`` = output of slice_stats (row order kept). Slices with a significant regression
    (q_bh < alpha and regressions > fixes) get a red tick label and a "* q=..." note.
    Returns the matplotlib Figure.
    """
    _require_table(stats, _SLICE_STATS_COLUMNS, "plot_regressions")
    fig, ax, _ = _paired_barh(
        stats,
        [("regressions (baseline right, candidate wrong)", stats["regressions"], "tab:red", None),
         ("fixes (baseline wrong, candidate right)", stats["fixes"], "tab:green", None)],
        xlabel="tweets", title="Regressions vs fixes per slice (* = significant regression)")
    for i, (sig, tick) in enumerate(zip(stats["significant_regression"], ax.get_yticklabels())):
        if sig:
            tick.set(color="tab:red", fontweight="bold")
            row = stats.iloc[i]
            ax.annotate(f" * q={row['q_bh']:.2g}", (max(row["regressions"], row["fixes"]), i),
                        va="center", color="tab:red", fontsize="small")
    ax.margins(x=0.15)
    fig.legend(loc="outside lower center", ncols=2, fontsize="small")
    return fig


# A class "collapses" when the candidate's recall on it falls by at least this much and the two models'
# 95% Wilson intervals for that recall do not overlap: accuracy can hold while one class is abandoned.
RECALL_DROP = 0.10


def _overall_row(a, alpha):
    """Memo row for the one pre-planned overall test; returns (row, better, worse)."""
    reading = verdict(a["q_bh"], a["regressions"], a["fixes"], False, alpha=alpha)
    better, worse = reading == "significant improvement", reading == "significant regression"
    row = ("overall accuracy",
           f"baseline {_fmt_ci(a['baseline_acc'], a['baseline_lo'], a['baseline_hi'])} -> "
           f"candidate {_fmt_ci(a['candidate_acc'], a['candidate_lo'], a['candidate_hi'])}; "
           f"delta {_fmt_change(a['delta'])} [{_fmt_change(a['delta_lo'])}, {_fmt_change(a['delta_hi'])}] "
           f"(Newcombe paired 95% interval); {a['regressions']} regressions vs {a['fixes']} fixes, "
           f"exact McNemar p = {a['p_mcnemar']:.3g} (n = {a['n']:,})",
           "candidate significantly more accurate" if better else
           "candidate significantly less accurate" if worse else
           f"no significant overall difference at alpha = {alpha}")
    return row, better, worse


def collapsed_classes(overall, *, drop=RECALL_DROP):
    """Classes whose recall the candidate loses: a fall of ``drop`` or more with the two models' 95% Wilson
    intervals apart. ``overall`` from :func:`overall_metrics`. Returns [(label, baseline, candidate)].

    >>> overall = pd.DataFrame({"model": ["baseline", "candidate"], "recall_positive": [0.7, 0.0],
    ...                         "n_positive": [50, 50]})
    >>> collapsed_classes(overall)
    [('positive', 0.7, 0.0)]
    """
    o = overall.set_index("model")
    out = []
    for label in LABELS:
        if f"n_{label}" not in o.columns or f"recall_{label}" not in o.columns:
            continue
        n = int(o.loc["baseline", f"n_{label}"])
        base, cand = o.loc["baseline", f"recall_{label}"], o.loc["candidate", f"recall_{label}"]
        if not n or pd.isna(base) or pd.isna(cand) or base - cand < drop:
            continue
        _, cand_hi = wilson_interval(round(cand * n), n)
        base_lo, _ = wilson_interval(round(base * n), n)
        if cand_hi < base_lo:
            out.append((label, float(base), float(cand)))
    return out


def _recall_row(overall, collapsed):
    o = overall.set_index("model")
    change = ", ".join(
        f"{label} {_fmt_change(o.loc['candidate', f'recall_{label}'] - o.loc['baseline', f'recall_{label}'])}"
        for label in LABELS)
    return ("macro F1 and recall",
            f"macro F1 {o.loc['baseline', 'macro_f1']:.3f} -> {o.loc['candidate', 'macro_f1']:.3f}; "
            f"recall change: {change}",
            (f"the candidate loses {', '.join(c[0] for c in collapsed)} (recall falls by {RECALL_DROP:.2f} or more, "
             "95% intervals apart)") if collapsed else
            "no class loses recall beyond chance; a large drop on one class is worth a look even when accuracy holds")


def _slice_rows(stats, alpha):
    slices = stats[stats["slice"] != "all"]
    regressed = slices[slices["significant_regression"]]
    small = slices[slices["too_small"]]
    leads = slices[(slices["delta"] < 0) & ~slices["significant_regression"] & ~slices["too_small"]]
    rows = [("significant regressions",
             "; ".join(f"{r.slice} (delta {r.delta:+.3f}, q = {r.q_bh:.3g}, "
                       f"{r.regressions} vs {r.fixes})" for r in regressed.itertuples()) or "none",
             f"{len(regressed)} slice(s) where the candidate is reliably worse (BH q < {alpha})"
             if len(regressed) else "no slice shows a regression beyond chance"),
            ("worse, not significantly",
             "; ".join(f"{r.slice} (delta {r.delta:+.3f}, q = {r.q_bh:.2g}, {r.regressions} vs {r.fixes}, "
                       f"n = {r.n})" for r in leads.itertuples()) or "none",
             "the candidate is worse here, but not beyond chance at these n: a lead to test (Step 7), "
             "not a finding" if len(leads) else "no other slice where the candidate is worse"),
            ("too small to judge",
             ", ".join(f"{r.slice} (n = {r.n})" for r in small.itertuples()) or "none",
             "no conclusion possible here: absence of evidence is not evidence of safety; "
             "collect more examples" if len(small) else "every slice is large enough")]
    return rows, regressed, small, leads


def _stress_row(synthetic_summary):
    _require_table(synthetic_summary, ["model", "failure_rate", "lo", "hi"], "ship_memo (synthetic_summary)")
    s = synthetic_summary.set_index("model")
    if s.loc[list(_MODELS), "failure_rate"].isna().any():
        return ("stress test failure rate", "not scored for " + ", ".join(
            m for m in _MODELS if pd.isna(s.loc[m, "failure_rate"])),
            "no comparison: a model here cannot score new tweets (see the scoring cell's message)"), False
    worse = bool(s.loc["candidate", "lo"] > s.loc["baseline", "hi"])
    row = ("stress test failure rate",
           "; ".join(f"{m} {_fmt_ci(s.loc[m, 'failure_rate'], s.loc[m, 'lo'], s.loc[m, 'hi'])}" for m in _MODELS),
           "candidate fails more often (intervals do not overlap)" if worse else
           "candidate fails less often (intervals do not overlap)"
           if s.loc["candidate", "hi"] < s.loc["baseline", "lo"] else "intervals overlap")
    return row, worse


def _perturbation_row(perturbations):
    _require_table(perturbations, ["test", "model", "failure_rate", "lo", "hi"], "ship_memo (perturbations)")
    if perturbations.empty or perturbations["failure_rate"].isna().all():
        return ("perturbation tests", "not run",
                "no perturbation test could run (a model here cannot score new tweets)"), []
    wide = perturbations.pivot_table(index="test", columns="model", values=["failure_rate", "lo", "hi"],
                                     aggfunc="first", sort=False)
    brittle = [t for t in wide.index if wide.loc[t, ("lo", "candidate")] > wide.loc[t, ("hi", "baseline")]]
    row = ("perturbation tests",
           "; ".join(f"{t}: candidate {wide.loc[t, ('failure_rate', 'candidate')]:.0%} vs baseline "
                     f"{wide.loc[t, ('failure_rate', 'baseline')]:.0%} fail" for t in brittle) or "none",
           f"the candidate is less robust in {len(brittle)} test(s) (intervals do not overlap)"
           if brittle else "no test where the candidate is clearly less robust")
    return row, brittle


def _recommendation(a, better, concerns, caveats, n_small):
    if concerns:
        text = f"Evidence leans against shipping: {'; '.join(concerns)}."
    elif better:
        text = ("Evidence leans towards shipping: the candidate is significantly better overall "
                "and no slice shows a significant regression.")
    else:
        text = ("Evidence is inconclusive: no significant difference overall and no significant "
                "slice regression.")
    if caveats:
        text += (f" But {'; '.join(caveats)}: weigh that against the gain." if better and not concerns
                 else f" Also, {'; '.join(caveats)}.")
    if n_small:
        text += f" {n_small} slice(s) are too small to judge; argue whether they matter before deciding."
    evidence = "; ".join(concerns) or "no significant concern found" + (
        f"; {len(caveats)} caveat{'s' * (len(caveats) > 1)}" if caveats else "")
    return ("recommendation", evidence, text)


def ship_memo(stats, overall, *, synthetic_summary=None, perturbations=None, alpha=0.05):
    """Evidence for and against shipping the candidate, as a table to argue with.

    Columns ``item``, ``evidence`` (numbers), ``reading`` (what they suggest). Rows: overall
    accuracy (both 95% Wilson intervals, delta with its paired Newcombe interval and the exact
    McNemar p: one pre-planned test, read with :func:`verdict` exactly as slice_stats reads its
    "all" row), macro F1 and per-class recall change (a collapsed class, see
    :func:`collapsed_classes`, is a concern), slices with significant regressions (BH q), slices where
    the candidate is worse but not significantly (large enough to judge; a caveat, not a concern), slices too
    small to judge, the stress-test failure rate when ``synthetic_summary`` (columns model,
    failure_rate, lo, hi) is given, the perturbation tests where the candidate fails more often than
    the baseline (intervals apart) when ``perturbations`` (from run_perturbation_tests) is given, and a
    last "recommendation" row (see ship_recommendation).
    """
    _require_table(stats, _SLICE_STATS_COLUMNS, "ship_memo (stats)")
    _require_table(overall, ["model", "macro_f1"] + [f"recall_{label}" for label in LABELS],
                   "ship_memo (overall)")
    if "all" not in set(stats["slice"]):
        raise ValueError("ship_memo: stats has no 'all' row; pass the output of lab.slice_stats.")
    a = stats.set_index("slice").loc["all"]
    overall_row, better, worse = _overall_row(a, alpha)
    collapsed = collapsed_classes(overall)
    slice_rows, regressed, small, leads = _slice_rows(stats, alpha)
    rows = [overall_row, _recall_row(overall, collapsed), *slice_rows]
    stress_worse = False
    caveats = ([f"the candidate is worse, though not significantly, on {', '.join(leads['slice'])}"] if len(leads) else [])
    if synthetic_summary is not None:
        row, stress_worse = _stress_row(synthetic_summary)
        rows.append(row)
    if perturbations is not None:
        row, brittle = _perturbation_row(perturbations)
        rows.append(row)
        if brittle:
            caveats.append(f"the candidate is less robust than the baseline under {', '.join(brittle)}")
    concerns = ([f"overall accuracy drops ({a['delta']:+.3f}, p = {a['p_mcnemar']:.3g})"] if worse else []) \
        + [f"{label} recall collapses ({base:.2f} -> {cand:.2f})" for label, base, cand in collapsed] \
        + ([f"significant regressions in {', '.join(regressed['slice'])}"] if len(regressed) else []) \
        + (["the candidate fails the stress test more often"] if stress_worse else [])
    rows.append(_recommendation(a, better, concerns, caveats, len(small)))
    return pd.DataFrame(rows, columns=["item", "evidence", "reading"])


def ship_recommendation(memo):
    """The recommendation sentence of a ship_memo (its last row's reading)."""
    _require_table(memo, ["item", "reading"], "ship_recommendation")
    rec = memo.loc[memo["item"] == "recommendation", "reading"]
    if rec.empty:
        raise ValueError("ship_recommendation: no 'recommendation' row; pass the output of lab.ship_memo.")
    return str(rec.iloc[-1])
