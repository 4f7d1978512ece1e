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
from .validate import _require_columns, _require_table, require_fresh


# ... and so is a slice whose 95% Wilson interval for either model is wider than this (30
# accuracy points): the data cannot tell a good model from a bad one there.
MAX_CI_WIDTH = 0.30


def build_eval_table(df_long: pd.DataFrame, *, tweets: pd.DataFrame | None = None,
                     confident_threshold: float = CONFIDENT_THRESHOLD) -> pd.DataFrame:
    """One row per tweet with both models side by side (Step 5).

    Columns: the tweet's own columns (tweet_id, text, label, metadata ...), ``baseline_pred``,
    ``baseline_conf``, ``candidate_pred``, ``candidate_conf``, and booleans ``baseline_correct``,
    ``candidate_correct``, ``regressed`` (candidate wrong where the baseline was right), ``improved``
    (candidate right where the baseline was wrong), ``both_wrong``, ``both_correct``,
    ``confident_regression`` (a regression with candidate_conf >= ``confident_threshold``).
    Exactly one of regressed / improved / both_wrong / both_correct is true on every row.

    Pass the notebook's current ``tweets`` to check that ``df_long`` was built from them: a re-run of
    Step 2 without Step 4 is an error that says which cells to re-run, not silently old numbers.
    """
    _require_columns(df_long, "text", "label", "model", "pred",
                     rerun="pass df_long from lab.run_models (Step 4)")
    if tweets is not None:
        require_fresh(df_long, tweets, table_name="df_long (Step 4)",
                      rerun="re-run Step 4 (lab.run_models) and then Step 5")
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
    out.attrs = dict(df_long.attrs)
    return out


def slice_metrics(df_eval: pd.DataFrame, slices: Mapping[str, Callable], *, min_n: int = MIN_SLICE_N,
                  max_ci_width: float = MAX_CI_WIDTH) -> pd.DataFrame:
    """Accuracy per slice and model (Step 5), worst first.

    Columns: ``slice``, ``description``, ``model`` (baseline / candidate), ``n`` (tweets in the slice),
    ``correct``, ``accuracy`` (correct / n, in [0, 1], higher is better; NaN for an empty slice),
    ``too_small`` (too few tweets to conclude anything: see :func:`too_small`). The row ``all`` is every tweet.

    >>> df = pd.DataFrame({"x": [True, True, False], "baseline_correct": [True, False, True],
    ...                    "candidate_correct": [False, False, True]})
    >>> slice_metrics(df, {"x": lambda d: d.x}, min_n=2)[["slice", "model", "n", "accuracy"]].values.tolist()
    [['x', 'candidate', 2, 0.0], ['all', 'candidate', 3, 0.3333333333333333], ['x', 'baseline', 2, 0.5], ['all', 'baseline', 3, 0.6666666666666666]]
    """
    masks, described = _described_masks(df_eval, slices)
    member = pd.DataFrame(masks).to_numpy(dtype=float)  # tweets x slices
    n = member.sum(0)
    correct = {role: member.T @ df_eval[f"{role}_correct"].fillna(False).to_numpy(dtype=float) for role in _MODELS}
    small = too_small(n, correct["baseline"], correct["candidate"], min_n=min_n, max_ci_width=max_ci_width)
    rows = []
    for role in _MODELS:
        for name, k, c, flag in zip(masks, n, correct[role], small):
            rows.append({"slice": name, "description": described[name], "model": role, "n": int(k),
                         "correct": int(c), "accuracy": c / k if k else np.nan, "too_small": bool(flag)})
    table = pd.DataFrame(rows)
    return table.sort_values(["accuracy", "n"], ascending=[True, False], na_position="last",
                             kind="stable").reset_index(drop=True)


def compare_models(slice_metrics: pd.DataFrame) -> pd.DataFrame:
    """Both models side by side, one row per slice (Step 5's first view of :func:`slice_metrics`).

    Columns: ``slice``, ``n``, ``baseline_acc`` and ``candidate_acc`` (accuracy in [0, 1], higher is better;
    NaN for an empty slice), ``delta`` (candidate − baseline, in [−1, 1]; negative = the candidate is worse),
    ``too_small`` (too few tweets to conclude: :func:`too_small`). Sorted worst first by the candidate's
    accuracy, then by ``delta``; the long ``slice_metrics`` table (one row per slice and model) is unchanged.

    >>> long = pd.DataFrame({"slice": ["x", "all", "x", "all"], "model": ["baseline", "baseline", "candidate", "candidate"],
    ...                      "n": [40, 100, 40, 100], "accuracy": [0.5, 0.6, 0.4, 0.7], "too_small": False})
    >>> compare_models(long)[["slice", "baseline_acc", "candidate_acc", "delta"]].round(3).values.tolist()
    [['x', 0.5, 0.4, -0.1], ['all', 0.6, 0.7, 0.1]]
    """
    _require_table(slice_metrics, ["slice", "model", "n", "accuracy", "too_small"], "compare_models (slice_metrics)",
                   "the table from lab.slice_metrics(df_eval, slices)")
    wide = slice_metrics.pivot_table(index="slice", columns="model", values="accuracy", aggfunc="first", sort=False)
    first = slice_metrics.drop_duplicates("slice").set_index("slice")
    table = pd.DataFrame({"slice": wide.index, "n": first.loc[wide.index, "n"].to_numpy(),
                          "baseline_acc": wide["baseline"].to_numpy(), "candidate_acc": wide["candidate"].to_numpy()})
    table["delta"] = table["candidate_acc"] - table["baseline_acc"]
    table["too_small"] = first.loc[wide.index, "too_small"].to_numpy(dtype=bool)
    return table.sort_values(["candidate_acc", "delta"], na_position="last", kind="stable").reset_index(drop=True)


def regression_metrics(df_eval: pd.DataFrame, slices: Mapping[str, Callable], *, min_n: int = MIN_SLICE_N,
                       max_ci_width: float = MAX_CI_WIDTH) -> pd.DataFrame:
    """Regressions and fixes per slice (Step 5), worst (highest regression rate) first.

    Columns: ``slice``, ``description``, ``n``, counts ``regressions`` (candidate wrong, baseline
    right), ``fixes`` (the reverse: candidate right, baseline wrong), ``confident_regressions``, ``both_wrong``, ``both_correct``
    (the four outcome counts add up to n), rates of the first three over n (in [0, 1]; lower is better for
    regressions; NaN for an empty slice), ``net`` (fixes − regressions) and ``too_small`` (see
    :func:`too_small`).
    """
    masks, described = _described_masks(df_eval, slices)
    member = pd.DataFrame(masks).to_numpy(dtype=float)
    outcomes = df_eval[["regressed", "improved", "confident_regression", "both_wrong", "both_correct"]].to_numpy(dtype=float)
    counts = member.T @ outcomes
    n = member.sum(0)
    table = pd.DataFrame(counts.astype(int), columns=["regressions", "fixes", "confident_regressions",
                                                      "both_wrong", "both_correct"])
    table.insert(0, "n", n.astype(int))
    table.insert(0, "description", [described[k] for k in masks])
    table.insert(0, "slice", list(masks))
    with np.errstate(invalid="ignore", divide="ignore"):
        for col, count in (("regression", "regressions"), ("fix", "fixes"), ("confident_regression", "confident_regressions")):
            table[f"{col}_rate"] = np.where(n > 0, table[count] / np.where(n > 0, n, 1), np.nan)
    table["net"] = table["fixes"] - table["regressions"]
    table["too_small"] = too_small(n, table["both_correct"] + table["regressions"],
                                   table["both_correct"] + table["fixes"], min_n=min_n,
                                   max_ci_width=max_ci_width)
    return table.sort_values(["regression_rate", "n"], ascending=[False, False], na_position="last",
                             kind="stable").reset_index(drop=True)

_SLICE_STATS_COLUMNS = [
    "slice", "description", "n", "baseline_acc", "baseline_lo", "baseline_hi", "candidate_acc",
    "candidate_lo", "candidate_hi", "delta", "delta_lo", "delta_hi", "regressions", "fixes", "p_mcnemar", "q_bh",
    "too_small", "significant_regression", "verdict",
]


def too_small(n, baseline_correct, candidate_correct, *, min_n=MIN_SLICE_N, max_ci_width=MAX_CI_WIDTH):
    """The one rule for "too small to judge", used by every slice table, the memo and the TA summary.

    A slice is too small when it has fewer than ``min_n`` tweets, or when either model's 95% Wilson
    interval for its accuracy is wider than ``max_ci_width`` (the data cannot tell a good model from a
    bad one there). Works element-wise on arrays of counts.

    >>> too_small([10, 100, 400], [5, 50, 200], [6, 55, 210]).tolist()
    [True, False, False]
    """
    n = np.asarray(n, dtype=int)
    widest = np.zeros(n.shape)
    for k in (baseline_correct, candidate_correct):
        lo, hi = np.vectorize(wilson_interval, otypes=[float, float])(np.asarray(k, dtype=int), n)
        widest = np.fmax(widest, np.nan_to_num(hi - lo, nan=1.0))
    return (n < min_n) | (widest > max_ci_width)


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
    masks.update(slice_masks(df, slices))
    return masks


def verdict(q, regressions, fixes, too_small, *, alpha=0.05):
    """The one reading of a paired comparison, used by slice_stats, the ship memo and the TA summary.

    ``q`` is the p-value that applies (the overall test's exact p, a slice's BH q); NaN = not tested.

    >>> verdict(0.01, 9, 2, False), verdict(0.4, 3, 2, True), verdict(0.4, 3, 2, False)
    ('significant regression', 'too small to judge', 'no significant difference')
    """
    significant = bool(q < alpha)  # NaN compares False
    if significant and regressions > fixes:
        return "significant regression"
    if significant and fixes > regressions:
        return "significant improvement"
    return "too small to judge" if too_small else "no significant difference"


def slice_stats(df_eval, slices, *, min_n=MIN_SLICE_N, max_ci_width=MAX_CI_WIDTH, alpha=0.05):
    """Compare baseline and candidate accuracy on every slice, with paired tests.

    One row per slice plus "all" (every tweet), worst first (``delta`` ascending, ties by
    ``n`` descending); empty slices (n == 0) come last with NaN scores.

    Columns: ``n`` tweets; ``baseline_acc`` / ``candidate_acc`` accuracy in [0, 1] with 95%
    Wilson interval ``*_lo`` / ``*_hi``; ``delta`` = candidate_acc - baseline_acc in [-1, 1]
    (negative = candidate worse); ``regressions`` b (candidate wrong, baseline right) and
    ``fixes`` c (candidate right, baseline wrong); ``p_mcnemar`` exact McNemar p (1.0 when
    b + c == 0); ``q_bh``: the p-value each verdict uses. The overall comparison ("all") is one
    pre-planned test, so its q_bh is its own exact p; the slices are a family, so theirs are
    Benjamini-Hochberg q-values over the non-empty slices (the expected share of false alarms among
    slices with q < alpha). ``too_small``: see :func:`too_small`. ``significant_regression`` =
    q_bh < alpha and b > c. ``verdict`` (:func:`verdict`): "significant regression" / "significant
    improvement" when q_bh < alpha (the exact test is valid at any n), else "too small to judge"
    when too_small (no difference found, but it could not have been found), else "no significant
    difference". NaN = not computable (n == 0).
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
    overall = out["slice"] == "all"
    out["q_bh"] = _bh(out["p_mcnemar"].where(~overall)).where(~overall, out["p_mcnemar"])
    out["too_small"] = too_small(out["n"], out["baseline_acc"].fillna(0) * out["n"],
                                 out["candidate_acc"].fillna(0) * out["n"], min_n=min_n,
                                 max_ci_width=max_ci_width) | (out["n"] == 0)
    out["significant_regression"] = (out["q_bh"] < alpha) & (out["regressions"] > out["fixes"])
    out["verdict"] = [verdict(q, b, c, small, alpha=alpha) for q, b, c, small in
                      zip(out["q_bh"], out["regressions"], out["fixes"], out["too_small"])]
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
    labels correctly, [0, 1], NaN when no tweet has that label; ``n_<label>`` = tweets truly of that
    label (0 means that class is absent, and macro-F1 is then not comparable with data that has it).
    All NaN when df_eval is empty.
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
        row.update({f"n_{label}": int((y_true == label).sum()) for label in LABELS})
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
              f"macro-F1 {row.macro_f1:.3f} (n = {row.n:,})")
    s = _paired_summary(df_eval["baseline_correct"], df_eval["candidate_correct"])
    p = mcnemar_exact_p(s["regressions"], s["fixes"])
    reading = verdict(p, s["regressions"], s["fixes"], False)
    print(f"Overall: candidate - baseline accuracy {_fmt_change(s['delta'])}; {s['regressions']} regressions vs "
          f"{s['fixes']} fixes (exact McNemar p = {p:.3g}: {reading})")
    absent = [label for label in LABELS if (df_eval["label"] == label).sum() == 0]
    if absent:
        print(f"Note: no tweet is labelled {', '.join(absent)} here, so recall for it is NaN and macro-F1 "
              f"(the mean over all {len(LABELS)} classes) is not comparable with data that has it.")


def suspect_labels(df_eval: pd.DataFrame, *, confident: float = CONFIDENT_THRESHOLD,
                   slices: Mapping[str, Callable] | None = None) -> pd.DataFrame:
    """Tweets whose gold label may be wrong: both models agree with each other, each with confidence of at
    least ``confident`` (default the lab's CONFIDENT_THRESHOLD), against the label (Step 5).

    Real TweetEval labels are noisy: check the label before blaming a model. The labels are never changed;
    a suspect is a tweet to read, not a correction. NaN confidence (a precomputed model without scores)
    never counts as confident.

    Without ``slices``: the suspect tweets, most confident first, with the tweet's columns (text, label, ...)
    followed by ``agreed_pred`` (what both models say), ``baseline_conf`` and ``candidate_conf``. With
    ``slices``: one row per slice (``all`` first) with ``n`` (tweets), ``suspects`` and ``suspect_rate`` =
    suspects / n in [0, 1] (NaN for an empty slice); a slice with a high rate may be hard to label rather
    than hard to classify.

    >>> df = pd.DataFrame({"text": ["a", "b", "c"], "label": ["positive"] * 3,
    ...                    "baseline_pred": ["negative", "negative", "positive"], "baseline_conf": [0.9, 0.9, 0.9],
    ...                    "candidate_pred": ["negative", "negative", "positive"], "candidate_conf": [0.95, 0.5, 0.9]})
    >>> suspect_labels(df)[["text", "agreed_pred"]].values.tolist()
    [['a', 'negative']]
    """
    from .config import _OUTCOME_COLUMNS

    _require_table(df_eval, ["text", "label", "baseline_pred", "baseline_conf", "candidate_pred", "candidate_conf"],
                   "suspect_labels", "df_eval from lab.build_eval_table")
    base, cand = df_eval["baseline_pred"], df_eval["candidate_pred"]
    sure = (df_eval["baseline_conf"].to_numpy(dtype=float) >= confident) & (
        df_eval["candidate_conf"].to_numpy(dtype=float) >= confident)
    suspect = ((base == cand) & (base != df_eval["label"]) & base.notna() & df_eval["label"].notna()).to_numpy(
        dtype=bool) & sure
    if slices is not None:
        masks = _all_masks(df_eval, slices)
        rows = [(name, int(m.sum()), int((m.to_numpy(dtype=bool) & suspect).sum())) for name, m in masks.items()]
        table = pd.DataFrame(rows, columns=["slice", "n", "suspects"])
        table["suspect_rate"] = np.where(table["n"] > 0, table["suspects"] / table["n"].clip(lower=1), np.nan)
        return table
    outcome = [c for c in _OUTCOME_COLUMNS if c in df_eval and c not in ("baseline_conf", "candidate_conf")]
    found = df_eval[suspect].drop(columns=outcome).assign(agreed_pred=base[suspect])
    found = found.assign(baseline_conf=df_eval.loc[suspect, "baseline_conf"],
                         candidate_conf=df_eval.loc[suspect, "candidate_conf"])
    order = np.minimum(found["baseline_conf"], found["candidate_conf"]).sort_values(ascending=False, kind="stable")
    return found.loc[order.index]
