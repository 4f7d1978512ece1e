"""Small statistics with scipy underneath: Wilson intervals, the exact McNemar test, the paired
Newcombe interval for an accuracy change, Benjamini-Hochberg q-values, and their formatting.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .config import _MODELS


def _paired_summary(baseline_ok, candidate_ok):
    """Accuracy, Wilson intervals, delta, regressions/fixes and McNemar p for one set of tweets.

    Both inputs are boolean arrays over the same tweets. For n == 0 every score is NaN.
    """
    baseline_ok = np.asarray(baseline_ok, dtype=bool)
    candidate_ok = np.asarray(candidate_ok, dtype=bool)
    n = int(baseline_ok.size)
    row = {"n": n}
    for model, ok in zip(_MODELS, (baseline_ok, candidate_ok)):
        k = int(ok.sum())
        row[f"{model}_acc"] = k / n if n else math.nan
        row[f"{model}_lo"], row[f"{model}_hi"] = wilson_interval(k, n)
    row["delta"] = row["candidate_acc"] - row["baseline_acc"]
    both = int((baseline_ok & candidate_ok).sum())
    b = int((baseline_ok & ~candidate_ok).sum())
    c = int((~baseline_ok & candidate_ok).sum())
    row["delta_lo"], row["delta_hi"] = paired_delta_interval(both, b, c, n - both - b - c)
    row.update(regressions=b, fixes=c, p_mcnemar=mcnemar_exact_p(b, c) if n else math.nan)
    return row


def _bh(p_values):
    """Benjamini-Hochberg q-values for the non-NaN p-values; NaN stays NaN."""
    from scipy.stats import false_discovery_control

    p = pd.Series(p_values, dtype=float)
    q = pd.Series(np.nan, index=p.index)
    tested = p.notna()
    if tested.any():
        q[tested] = false_discovery_control(p[tested].to_numpy(), method="bh")
    return q


def _fmt_ci(value, lo, hi):
    return "n/a" if pd.isna(value) else f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


def _fmt_change(value):
    return "n/a" if pd.isna(value) else f"{value:+.3f}"


def wilson_interval(k, n, *, confidence=0.95):
    """Wilson score interval for a proportion k/n (e.g. an accuracy).

    Returns ``(lo, hi)``, both in [0, 1]; the true proportion lies inside with probability
    ``confidence`` in repeated samples. Wider = less certain. ``(nan, nan)`` when n == 0.
    Uses ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.

    >>> lo, hi = wilson_interval(7, 10)
    >>> round(lo, 2), round(hi, 2)
    (0.4, 0.89)
    >>> wilson_interval(0, 0)
    (nan, nan)
    """
    from scipy.stats import binomtest

    if not (0 <= k <= n) or int(k) != k or int(n) != n:
        raise ValueError(f"wilson_interval: expected integers 0 <= k <= n, got k={k}, n={n}.")
    if n == 0:
        return math.nan, math.nan
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def mcnemar_exact_p(b, c):
    """Exact McNemar p-value for paired outcomes (two-sided).

    ``b`` = tweets only the baseline gets right (regressions), ``c`` = tweets only the
    candidate gets right (fixes). Under "both models equally accurate" each of the b + c
    disagreements is a fair coin, so p = two-sided ``binomtest(b, b + c, 0.5)``. p in [0, 1];
    small p = the disagreements are too lopsided to be chance. 1.0 when b + c == 0.

    >>> round(mcnemar_exact_p(8, 2), 3)
    0.109
    >>> mcnemar_exact_p(0, 0)
    1.0
    """
    from scipy.stats import binomtest

    if min(b, c) < 0 or int(b) != b or int(c) != c:
        raise ValueError(f"mcnemar_exact_p: expected counts b, c >= 0, got b={b}, c={c}.")
    if b + c == 0:
        return 1.0
    return float(binomtest(int(b), int(b + c), 0.5).pvalue)


def paired_delta_interval(both_right, regressions, fixes, both_wrong, *, confidence=0.95):
    """Interval for Δ = candidate accuracy − baseline accuracy on the same tweets.

    Newcombe's hybrid score interval for paired proportions (Newcombe 1998, method 10): each
    model's Wilson interval, combined with the correlation of the two models' outcomes. Arguments
    are the four cells of the paired table. Range [-1, 1]; (NaN, NaN) when there are no tweets.

    >>> lo, hi = paired_delta_interval(36, 2, 12, 0)  # Newcombe's worked example: 0.0569 to 0.3404
    >>> round(lo, 4), round(hi, 4)
    (0.0569, 0.3404)
    """
    a, b, c, d = (int(x) for x in (both_right, regressions, fixes, both_wrong))
    n = a + b + c + d
    if n == 0:
        return math.nan, math.nan
    p1, p2 = (a + b) / n, (a + c) / n  # baseline, candidate accuracy
    l1, u1 = wilson_interval(a + b, n, confidence=confidence)
    l2, u2 = wilson_interval(a + c, n, confidence=confidence)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c  # Newcombe's continuity correction of the correlation phi
    cross = cross - n / 2 if cross > n / 2 else min(cross, 0)
    phi = cross / math.sqrt(margins) if margins else 0.0
    delta = p2 - p1
    lower = (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2
    upper = (u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2
    return max(-1.0, delta - math.sqrt(max(lower, 0.0))), min(1.0, delta + math.sqrt(max(upper, 0.0)))


def _proportion(k: int, n: int) -> tuple[float, float, float]:
    """k / n with its 95% Wilson interval; all NaN when n == 0."""
    return (k / n if n else np.nan, *wilson_interval(k, n))
