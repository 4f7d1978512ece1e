"""Step 5: automatic slice discovery with ``sliceline`` and which hand-written slices it rediscovered.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .metrics import _all_masks
from .slicing import metadata_columns
from .stats import _bh, _paired_summary
from .validate import _require_table


# Slice discovery only reports slices with at least this many tweets, so that each found slice
# could also pass the MIN_SLICE_N rule (and sliceline cannot chase a handful of odd tweets).
MIN_DISCOVERY_SUPPORT = 30

# How many slices discovery returns (sliceline may return more when scores tie at the cut).
DISCOVERY_TOP_K = 10

# Sliceline's alpha (0 < alpha <= 1): weight of "high error" against "large slice" in its score.
# The library default 0.6 rejects most slices under ~40% of the data; 0.95 favours error rate.
DISCOVERY_ALPHA = 0.95

# Numeric metadata columns are cut into this many quantile bins (quartiles) for discovery;
# numeric columns with at most this many distinct values are used as categories instead.
DISCOVERY_BINS = 4

# Text/category columns with more distinct values than this (ids, free text) are skipped by
# discovery: one-hot encoding them makes thousands of tiny, meaningless candidate slices.
DISCOVERY_MAX_CATEGORIES = 20

# A found slice "rediscovers" a hand-written slice when their masks overlap with Jaccard
# index |A & B| / |A | B| at least this high (1.0 = identical tweets).
REDISCOVERY_JACCARD = 0.5

_DISCOVERY_COLUMNS = [
    "rank", "slice", "n", "error_rate", "baseline_acc", "candidate_acc", "regressions", "fixes",
    "p_mcnemar", "q_bh", "score", "rediscovers", "target",
]


def _edge(value) -> str:
    """A bin edge as a reader wants it: whole numbers plain, others to 3 decimals (3 significant digits
    below 0.01).

    >>> [_edge(v) for v in (2.0, 0.0666667, 12.3456, 0.00123456)]
    ['2', '0.067', '12.346', '0.00123']
    """
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 0.01 else f"{value:.3f}".rstrip("0").rstrip(".")


def _discretise(series, name, *, bins=DISCOVERY_BINS, max_categories=DISCOVERY_MAX_CATEGORIES):
    """Integer codes and one readable predicate per code for one metadata column.

    Booleans -> "name" / "not name"; numeric with more than ``bins`` distinct values ->
    quantile bins "name <= a", "a < name <= b", "name > b"; everything else -> "name=value".
    Missing values get their own code ("name is missing"). Returns None for a column that
    cannot split the data (one value) or has more than ``max_categories`` values.
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    nunique = series.nunique(dropna=True)
    if is_bool_dtype(series):
        codes = series.map({False: 0, True: 1})
        texts = [f"not {name}", name]
    elif is_numeric_dtype(series) and nunique > bins:
        codes, edges = pd.qcut(series, q=bins, labels=False, retbins=True, duplicates="drop")
        inner = edges[1:-1]
        texts = ([f"{name} <= {_edge(inner[0])}"]
                 + [f"{_edge(a)} < {name} <= {_edge(b)}" for a, b in zip(inner[:-1], inner[1:])]
                 + [f"{name} > {_edge(inner[-1])}"]) if len(inner) else [f"{name} (any)"]
    elif nunique <= max_categories:
        cat = series.astype("category")
        codes = cat.cat.codes.where(cat.notna())
        texts = [f"{name}={v}" for v in cat.cat.categories]
    else:
        return None
    codes = codes.fillna(len(texts)).to_numpy(dtype=int)
    if len(np.unique(codes)) < 2:  # e.g. quantile bins collapsed into one
        return None
    return codes, texts + [f"{name} is missing"]


def _holds_containers(series) -> bool:
    """True when a column holds unhashable values (lists, dicts, sets, arrays): no slice can split on them."""
    if series.dtype != object:
        return False
    try:
        series.nunique(dropna=True)
    except TypeError:
        return True
    return False


def _jaccard(a, b):
    union = np.logical_or(a, b).sum()
    return np.logical_and(a, b).sum() / union if union else 0.0


def discover_slices(df_eval, *, target="candidate_error", max_level=2,
                    min_support=MIN_DISCOVERY_SUPPORT, k=DISCOVERY_TOP_K, slices=None):
    """Find weak slices automatically with sliceline over the metadata columns.

    ``target="candidate_error"`` looks for slices where the candidate is wrong most often
    (error = not candidate_correct); ``"regression"`` for slices with most regressions (error =
    baseline right and candidate wrong). Metadata columns are every column except CORE_COLUMNS
    and the prediction/outcome columns; booleans are used as is, text/category columns as
    categories (skipped above DISCOVERY_MAX_CATEGORIES values), numeric columns as
    DISCOVERY_BINS quantile bins; columns holding lists, dicts or sets are skipped with a warning
    naming them. Model outputs are never searched: ``run_models`` leaves out the columns a
    precomputed model reads. A slice is a conjunction of up to ``max_level`` predicates
    with at least ``min_support`` tweets.

    Columns: ``rank`` (1 = best score); ``slice`` (e.g. "has_negation & length_bucket=long");
    ``n``; ``error_rate`` of the target in the slice, [0, 1]; ``baseline_acc``,
    ``candidate_acc``, ``regressions``, ``fixes``, ``p_mcnemar`` as in slice_stats; ``q_bh``
    (BH across the found slices); ``score`` = sliceline's
    alpha * (error_rate / overall error_rate - 1) - (1 - alpha) * (N / n - 1) with
    alpha = DISCOVERY_ALPHA: > 0 means the slice's error rate is high enough to outweigh its
    smallness, higher = worse slice (unbounded above, not a probability); ``rediscovers``: names
    of given ``slices`` whose mask has Jaccard >= REDISCOVERY_JACCARD with the found slice;
    ``target``. A found slice holding exactly the same tweets as a better-ranked one is left out.
    The slices were picked *because* they look bad on this data, so p and q are
    optimistic: treat them as leads to confirm on new data. Empty frame when nothing is found
    (or sliceline fails, with a warning).
    """
    if target not in ("candidate_error", "regression"):
        raise ValueError("discover_slices: target must be 'candidate_error' or 'regression', "
                         f"got {target!r}.")
    _require_table(df_eval, ["baseline_correct", "candidate_correct"], "discover_slices")
    empty = pd.DataFrame(columns=_DISCOVERY_COLUMNS)
    base = df_eval["baseline_correct"].fillna(False).astype(bool).to_numpy()
    cand = df_eval["candidate_correct"].fillna(False).astype(bool).to_numpy()
    errors = (~cand if target == "candidate_error" else base & ~cand).astype(float)
    columns = metadata_columns(df_eval)
    unhashable = [c for c in columns if _holds_containers(df_eval[c])]
    if unhashable:
        warnings.warn(f"discover_slices: skipped column(s) {unhashable}: they hold lists, dicts or sets, which "
                      "cannot be sliced on; turn each into a boolean or category column (e.g. "
                      "df['n_tags'] = df['tags'].str.len()) to search it.", stacklevel=2)
    encoded = {c: enc for c in columns if c not in unhashable
               and (enc := _discretise(df_eval[c], str(c))) is not None}
    if not encoded or errors.sum() == 0 or len(df_eval) < min_support:
        return empty
    names = list(encoded)
    X = np.column_stack([encoded[c][0] for c in names])

    from sliceline.slicefinder import Slicefinder

    finder = Slicefinder(alpha=DISCOVERY_ALPHA, k=k, max_l=max_level, min_sup=min_support,
                         verbose=False)
    try:
        finder.fit(X, errors)
    except Exception as err:  # noqa: BLE001 -- any library failure means "no slices found"
        warnings.warn(f"discover_slices: sliceline failed ({err!r}); returning no slices.",
                      stacklevel=2)
        return empty
    given = _all_masks(df_eval, slices)
    given.pop("all")
    rows, seen = [], set()
    for top, stat in zip(finder.top_slices_, finder.top_slices_statistics_):
        used = [(j, int(v)) for j, v in enumerate(top) if v is not None]
        mask = np.logical_and.reduce([X[:, j] == v for j, v in used])
        if mask.tobytes() in seen:  # same tweets under another name (n_hashtags=0 == not has_hashtag)
            continue
        seen.add(mask.tobytes())
        rows.append({
            "rank": len(rows) + 1, "slice": " & ".join(encoded[names[j]][1][v] for j, v in used),
            "error_rate": float(errors[mask].mean()), **_paired_summary(base[mask], cand[mask]),
            "score": stat["slice_score"],
            "rediscovers": ", ".join(g for g, gm in given.items()
                                     if _jaccard(mask, gm.to_numpy(bool)) >= REDISCOVERY_JACCARD),
            "target": target,
        })
    if not rows:
        return empty
    out = pd.DataFrame(rows)
    out["q_bh"] = _bh(out["p_mcnemar"])
    return out[_DISCOVERY_COLUMNS]


def rediscovered_hypotheses(discovered, slices):
    """Which hand-written slices did discovery find again?

    ``slices``: the slice registry (or just its names). Returns columns ``slice``,
    ``rediscovered`` ("yes"/"no") and ``by`` (the found slices, " | "-separated, or "").
    """
    _require_table(discovered, ["slice", "rediscovers"], "rediscovered_hypotheses")
    rows = []
    for name in slices:
        by = [found for found, names in zip(discovered["slice"], discovered["rediscovers"])
              if name in str(names).split(", ")]
        rows.append({"slice": name, "rediscovered": "yes" if by else "no", "by": " | ".join(by)})
    return pd.DataFrame(rows, columns=["slice", "rediscovered", "by"])
