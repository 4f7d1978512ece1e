"""Step 5: the evaluation table, overall, slice and regression metrics, and per-slice evidence
(intervals, paired tests, verdicts).
"""

from __future__ import annotations

import math
import warnings
from typing import Callable
from typing import Mapping

import numpy as np
import pandas as pd

from .config import CONFIDENT_THRESHOLD, LABELS, MIN_SLICE_N, _MODELS
from .slicing import _describe, slice_masks
from .stats import _bh, _fmt_change, _fmt_ci, _paired_summary, mcnemar_exact_p, wilson_interval
from .validate import _require_columns, _require_table


# ... and so is a slice whose 95% Wilson interval for either model is wider than this (30
# accuracy points): the data cannot tell a good model from a bad one there.
MAX_CI_WIDTH = 0.30


def build_eval_table(df_long: pd.DataFrame, *, confident_threshold: float = CONFIDENT_THRESHOLD) -> pd.DataFrame:
    """One row per tweet with both models side by side (Step 5).

    Columns: the tweet's own columns (tweet_id, text, label, metadata ...), ``baseline_pred``,
    ``baseline_conf``, ``candidate_pred``, ``candidate_conf``, and booleans ``baseline_correct``,
    ``candidate_correct``, ``regressed`` (candidate wrong where the baseline was right), ``improved``
    (candidate right where the baseline was wrong), ``both_wrong``, ``both_correct``,
    ``confident_regression`` (a regression with candidate_conf >= ``confident_threshold``).
    Exactly one of regressed / improved / both_wrong / both_correct is true on every row.
    """
    _require_columns(df_long, "text", "label", "model", "pred",
                     rerun="pass df_long from lab.run_models (Step 4)")
    roles = set(df_long["model"].unique())
    if not {"baseline", "candidate"} <= roles:
        raise ValueError(f"df_long must hold models 'baseline' and 'candidate'; found {sorted(roles)}.")
    key = "tweet_id" if "tweet_id" in df_long else "text"
    tweet_cols = [c for c in df_long.columns if c not in ("model", "model_id", "pred", "conf", "correct")]
    base = df_long[df_long["model"] == "baseline"]
    cand = df_long[df_long["model"] == "candidate"]
    if base[key].duplicated().any():
        raise ValueError(f"df_long has repeated {key!r} values for one model; each tweet must appear once per model.")
    out = base[tweet_cols].reset_index(drop=True)
    for role, part in (("baseline", base), ("candidate", cand)):
        aligned = part.set_index(key).reindex(out[key])
        out[f"{role}_pred"] = aligned["pred"].to_numpy()
        out[f"{role}_conf"] = aligned["conf"].to_numpy(dtype=float)
    b_ok = (out["baseline_pred"] == out["label"]).to_numpy(dtype=bool)
    c_ok = (out["candidate_pred"] == out["label"]).to_numpy(dtype=bool)
    out["baseline_correct"], out["candidate_correct"] = b_ok, c_ok
    out["regressed"] = b_ok & ~c_ok
    out["improved"] = ~b_ok & c_ok
    out["both_wrong"] = ~b_ok & ~c_ok
    out["both_correct"] = b_ok & c_ok
    out["confident_regression"] = out["regressed"] & (out["candidate_conf"].fillna(0).to_numpy() >= confident_threshold)
    return out


def slice_metrics(df_eval: pd.DataFrame, slices: Mapping[str, Callable], *, min_n: int = MIN_SLICE_N) -> pd.DataFrame:
    """Accuracy per slice and model (Step 5), worst first.

    Columns: ``slice``, ``description``, ``model`` (baseline / candidate), ``n`` (tweets in the slice),
    ``correct``, ``accuracy`` (correct / n, in [0, 1], higher is better; NaN for an empty slice),
    ``too_small`` (n < ``min_n``: too few tweets to conclude anything). The row ``all`` is every tweet.

    >>> df = pd.DataFrame({"x": [True, True, False], "baseline_correct": [True, False, True],
    ...                    "candidate_correct": [False, False, True]})
    >>> slice_metrics(df, {"x": lambda d: d.x}, min_n=2)[["slice", "model", "n", "accuracy"]].values.tolist()
    [['x', 'candidate', 2, 0.0], ['all', 'candidate', 3, 0.3333333333333333], ['x', 'baseline', 2, 0.5], ['all', 'baseline', 3, 0.6666666666666666]]
    """
    masks, described = _described_masks(df_eval, slices)
    member = pd.DataFrame(masks).to_numpy(dtype=float)  # tweets x slices
    rows = []
    for role in ("baseline", "candidate"):
        correct = member.T @ df_eval[f"{role}_correct"].to_numpy(dtype=float)
        n = member.sum(0)
        for name, k, c in zip(masks, n, correct):
            rows.append({"slice": name, "description": described[name], "model": role, "n": int(k),
                         "correct": int(c), "accuracy": c / k if k else np.nan})
    table = pd.DataFrame(rows)
    table["too_small"] = table["n"] < min_n
    return table.sort_values(["accuracy", "n"], ascending=[True, False], na_position="last",
                             kind="stable").reset_index(drop=True)


def regression_metrics(df_eval: pd.DataFrame, slices: Mapping[str, Callable], *, min_n: int = MIN_SLICE_N) -> pd.DataFrame:
    """Regressions and improvements per slice (Step 5), worst (highest regression rate) first.

    Columns: ``slice``, ``description``, ``n``, counts ``regressions`` (candidate wrong, baseline
    right), ``improvements`` (the reverse), ``confident_regressions``, ``both_wrong``, ``both_correct``
    (the four outcome counts add up to n), rates of the first three over n (in [0, 1]; lower is better for
    regressions; NaN for an empty slice), ``net`` (improvements − regressions) and ``too_small``.
    """
    masks, described = _described_masks(df_eval, slices)
    member = pd.DataFrame(masks).to_numpy(dtype=float)
    outcomes = df_eval[["regressed", "improved", "confident_regression", "both_wrong", "both_correct"]].to_numpy(dtype=float)
    counts = member.T @ outcomes
    n = member.sum(0)
    table = pd.DataFrame(counts.astype(int), columns=["regressions", "improvements", "confident_regressions",
                                                      "both_wrong", "both_correct"])
    table.insert(0, "n", n.astype(int))
    table.insert(0, "description", [described[k] for k in masks])
    table.insert(0, "slice", list(masks))
    with np.errstate(invalid="ignore", divide="ignore"):
        for col in ("regression", "improvement", "confident_regression"):
            table[f"{col}_rate"] = np.where(n > 0, table[f"{col}s"] / np.where(n > 0, n, 1), np.nan)
    table["net"] = table["improvements"] - table["regressions"]
    table["too_small"] = table["n"] < min_n
    return table.sort_values(["regression_rate", "n"], ascending=[False, False], na_position="last",
                             kind="stable").reset_index(drop=True)

_SLICE_STATS_COLUMNS = [
    "slice", "description", "n", "baseline_acc", "baseline_lo", "baseline_hi", "candidate_acc",
    "candidate_lo", "candidate_hi", "delta", "delta_lo", "delta_hi", "regressions", "fixes", "p_mcnemar", "q_bh",
    "too_small", "significant_regression", "verdict",
]


def _described_masks(df, slices):
    """({"all": every tweet, **slice masks}, {name: description}) for the per-slice tables."""
    descriptions = {"all": "every tweet", **{name: _describe(fn) for name, fn in dict(slices or {}).items()}}
    return _all_masks(df, slices), descriptions


def _all_masks(df, slices):
    """{"all": every tweet} followed by the masks of the given slice registry."""
    slices = dict(slices or {})
    if "all" in slices:
        raise ValueError("slice name 'all' is reserved for every tweet; rename your slice.")
    masks = {"all": pd.Series(True, index=df.index)}
    masks.update(slice_masks(df, slices))  # noqa: F821 -- defined in lab4_helpers
    return masks


def slice_stats(df_eval, slices, *, min_n=MIN_SLICE_N, max_ci_width=MAX_CI_WIDTH, alpha=0.05):
    """Compare baseline and candidate accuracy on every slice, with paired tests.

    One row per slice plus "all" (every tweet), worst first (``delta`` ascending, ties by
    ``n`` descending); empty slices (n == 0) come last with NaN scores.

    Columns: ``n`` tweets; ``baseline_acc`` / ``candidate_acc`` accuracy in [0, 1] with 95%
    Wilson interval ``*_lo`` / ``*_hi``; ``delta`` = candidate_acc - baseline_acc in [-1, 1]
    (negative = candidate worse); ``regressions`` b (candidate wrong, baseline right) and
    ``fixes`` c (candidate right, baseline wrong); ``p_mcnemar`` exact McNemar p (1.0 when
    b + c == 0); ``q_bh`` Benjamini-Hochberg q over all non-empty rows, "all" included (the
    expected share of false alarms among rows with q < alpha); ``too_small`` is True when
    n < ``min_n`` OR either Wilson interval is wider than ``max_ci_width``;
    ``significant_regression`` = q_bh < alpha and b > c. ``verdict``: "significant
    regression" / "significant improvement" when q_bh < alpha (the exact test is valid at any
    n), else "too small to judge" when too_small (no difference found, but it could not have
    been found), else "no significant difference". NaN = not computable (n == 0).
    """
    _require_table(df_eval, ["baseline_correct", "candidate_correct"], "slice_stats")
    base = df_eval["baseline_correct"].fillna(False).astype(bool).to_numpy()
    cand = df_eval["candidate_correct"].fillna(False).astype(bool).to_numpy()
    masks, descriptions = _described_masks(df_eval, slices)
    rows = []
    for name, mask in masks.items():
        m = mask.to_numpy(dtype=bool)
        rows.append({"slice": name, "description": descriptions[name],
                     **_paired_summary(base[m], cand[m])})
    out = pd.DataFrame(rows)
    out["q_bh"] = _bh(out["p_mcnemar"])
    widest = np.fmax(out["baseline_hi"] - out["baseline_lo"], out["candidate_hi"] - out["candidate_lo"])
    out["too_small"] = (out["n"] < min_n) | (widest > max_ci_width) | (out["n"] == 0)
    significant = out["q_bh"] < alpha  # NaN compares False
    out["significant_regression"] = significant & (out["regressions"] > out["fixes"])
    out["verdict"] = np.select(
        [out["significant_regression"], significant & (out["fixes"] > out["regressions"]),
         out["too_small"]],
        ["significant regression", "significant improvement", "too small to judge"],
        default="no significant difference",
    )
    out = out.sort_values(["delta", "n"], ascending=[True, False], na_position="last",
                          kind="stable")
    return out[_SLICE_STATS_COLUMNS].reset_index(drop=True)


def overall_metrics(df_eval):
    """Headline scores per model: one row for "baseline", one for "candidate".

    Columns: ``n`` tweets; ``accuracy`` (share of correct predictions, [0, 1], higher is
    better) with 95% Wilson interval ``accuracy_lo`` / ``accuracy_hi``; ``macro_f1`` = mean over
    LABELS of each class's F1 (harmonic mean of precision and recall), [0, 1], higher is
    better, every class weighs the same however rare (a class never predicted and never true
    counts as F1 = 0); ``recall_<label>`` = share of tweets truly of that label that the model
    labels correctly, [0, 1], NaN when no tweet has that label. All NaN when df_eval is empty.
    """
    from sklearn.metrics import f1_score, recall_score

    _require_table(df_eval, ["label"] + [f"{m}_{s}" for m in _MODELS for s in ("pred", "correct")],
                     "overall_metrics")
    y_true = df_eval["label"].fillna("<missing>").astype(str).to_numpy()
    rows = []
    for model in _MODELS:
        ok = df_eval[f"{model}_correct"].fillna(False).astype(bool)
        n, k = len(ok), int(ok.sum())
        row = {"model": model, "n": n, "accuracy": k / n if n else math.nan}
        row["accuracy_lo"], row["accuracy_hi"] = wilson_interval(k, n)
        y_pred = df_eval[f"{model}_pred"].fillna("<missing>").astype(str).to_numpy()
        row["macro_f1"] = (f1_score(y_true, y_pred, labels=list(LABELS), average="macro",
                                    zero_division=0) if n else math.nan)
        recalls = (recall_score(y_true, y_pred, labels=list(LABELS), average=None,
                                zero_division=np.nan) if n else [math.nan] * len(LABELS))
        row.update({f"recall_{label}": float(r) for label, r in zip(LABELS, recalls)})
        rows.append(row)
    return pd.DataFrame(rows)


def weakest_slice(stats: pd.DataFrame, *, prefer: str | None = None) -> str:
    """Name of a slice to stress-test: ``prefer`` when it holds tweets, else the non-empty slice with the
    lowest candidate-minus-baseline accuracy (``stats`` from :func:`slice_stats`; "all" is never chosen).

    ``prefer`` naming no slice of ``stats`` is an error listing the slices; a ``prefer`` slice without
    tweets in this data gives a warning and the weakest slice instead.

    >>> stats = pd.DataFrame({"slice": ["all", "a", "b"], "n": [9, 3, 4], "delta": [0.1, -0.5, -0.2]})
    >>> weakest_slice(stats), weakest_slice(stats, prefer="b")
    ('a', 'b')
    """
    _require_table(stats, ["slice", "n", "delta"], "weakest_slice", "slice_stats from lab.slice_stats")
    usable = stats[(stats["slice"] != "all") & (stats["n"] > 0)]
    if usable.empty:
        raise ValueError("no slice holds any tweet; add slices that match your data (see describe_slices).")
    weakest = str(usable.sort_values("delta", kind="stable")["slice"].iloc[0])
    if prefer is None or prefer in set(usable["slice"]):
        return weakest if prefer is None else prefer
    known = [str(s) for s in stats["slice"] if s != "all"]
    if prefer not in known:
        raise ValueError(f"prefer={prefer!r} is not a slice in slice_stats; slices: {', '.join(known)}. Pass one "
                         "of them (re-run slice_stats after adding a slice), or prefer=None for the weakest.")
    warnings.warn(f"slice {prefer!r} holds no tweets in this data, so the weakest slice {weakest!r} is used "
                  "instead.", UserWarning, stacklevel=2)
    return weakest


def print_headline(overall: pd.DataFrame, df_eval: pd.DataFrame) -> None:
    """Print one ``Overall:`` line per model and the paired change (the TA summary reads these lines)."""
    for row in overall.itertuples():
        print(f"Overall: {row.model} accuracy {_fmt_ci(row.accuracy, row.accuracy_lo, row.accuracy_hi)}, "
              f"macro-F1 {row.macro_f1:.3f} (n={row.n})")
    s = _paired_summary(df_eval["baseline_correct"], df_eval["candidate_correct"])
    print(f"Overall: candidate - baseline accuracy {_fmt_change(s['delta'])}; {s['regressions']} regressions vs "
          f"{s['fixes']} fixes (exact McNemar p = {mcnemar_exact_p(s['regressions'], s['fixes']):.3g})")
