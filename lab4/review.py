"""Step 7: checking the LLM's labels before trusting them: the review table and the student's label fixes.
"""

from __future__ import annotations

import difflib
import os
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from .config import CACHE_DIR, LABELS
from .data import normalise_labels
from .models import SentimentModel
from .paste import _match_key
from .slicing import add_slice_metadata
from .stress import (
    NEAR_COPY_RATIO,
    _in_slice,
    _numbered,
    _predict_new,
    _prediction_columns,
    _require_models,
    models_for_new_texts,
)
from .validate import _require_table

_REVIEW_COLUMNS = ["text", "llm_label", "baseline_pred", "baseline_conf", "candidate_pred", "candidate_conf",
                   "in_slice", "check"]


def _llm_labels(frame: pd.DataFrame) -> pd.Series:
    """The LLM's labels: ``llm_label`` of reviewed cases, else ``expected_label`` (normalised)."""
    return normalise_labels(frame["llm_label" if "llm_label" in frame else "expected_label"])


def _closest_reference(texts: Iterable[str], reference_texts: Iterable[str] | None) -> list[tuple[float, str]]:
    """(similarity in [0, 1], the reference tweet) of the most similar reference for each text, compared
    without case, links, @mentions and punctuation; (0.0, "") below NEAR_COPY_RATIO or without references."""
    refs: dict[str, str] = {}
    for ref in (reference_texts if reference_texts is not None else []):
        refs.setdefault(_match_key(ref), str(ref))
    refs.pop("", None)
    out = []
    for text in texts:
        key = _match_key(text)
        if not key or key in refs:
            out.append((1.0, refs[key]) if key else (0.0, ""))
            continue
        matcher, best = difflib.SequenceMatcher(None, autojunk=False), (0.0, "")
        matcher.set_seq2(key)  # the expensive side, indexed once per text
        for other, original in refs.items():
            matcher.set_seq1(other)
            if matcher.real_quick_ratio() >= NEAR_COPY_RATIO and matcher.quick_ratio() >= NEAR_COPY_RATIO:
                ratio = matcher.ratio()
                if ratio >= NEAR_COPY_RATIO and ratio > best[0]:
                    best = (ratio, original)
        out.append(best)
    return out


def review_cases(cases: pd.DataFrame, models: Mapping[str, SentimentModel], *,
                 slices: Mapping[str, Callable] | None = None, slice_name: str | None = None,
                 reference_texts: Iterable[str] | None = None, cache_dir: str | os.PathLike | None = CACHE_DIR,
                 hub_models: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A table for checking the LLM's labels before trusting them (Step 7), one row per case.

    Indexed by ``case`` (the numbers LABEL_FIXES uses). Columns: ``text``, ``llm_label``, ``baseline_pred``,
    ``baseline_conf``, ``candidate_pred``, ``candidate_conf`` (<NA>/NaN for a model that cannot run on new
    tweets, see :func:`models_for_new_texts`), ``in_slice`` (the tweet satisfies the slice ``slice_name``;
    <NA> without one) and ``check``: what to look at, "" when nothing:

    - "check this label: both models say X": both models agree with each other against the LLM's label
      (two models that agree are more often right than one LLM label; read the tweet and decide),
    - "no label" / "label '...' not understood" / "empty text" / "N characters (over 280)",
    - "duplicate of case N" (same text ignoring case and spacing),
    - "copy of a real tweet" / "near-copy of a real tweet (93% alike): '...'": the same as one of
      ``reference_texts`` ignoring case, links, @mentions and punctuation, or at least NEAR_COPY_RATIO alike,
    - "off-slice: not in <slice>": the tweet does not satisfy the slice it should test.

    Labels are not changed here: correct them with :func:`apply_label_fixes`.
    """
    _require_table(cases, ["text", "expected_label"], "review_cases", "cases from lab.generate_cases")
    _require_models(models)
    frame = _numbered(cases)
    review = pd.DataFrame({"text": frame["text"].astype(str), "llm_label": _llm_labels(frame)}, index=frame.index)
    _prediction_columns(review, _predict_new(models_for_new_texts(models, hub_models=hub_models), review["text"],
                                             cache_dir))
    with_metadata = add_slice_metadata(review[["text"]].reset_index(drop=True))
    review["in_slice"] = _in_slice(with_metadata, slices, slice_name, "review_cases")
    issues = frame["issues"] if "issues" in frame else pd.Series("", index=frame.index)
    first_seen, checks = {}, []
    for (case, row), issue, (ratio, ref) in zip(review.iterrows(), issues.fillna(""),
                                                _closest_reference(review["text"], reference_texts)):
        found = []
        agreed = row["baseline_pred"]
        if (pd.notna(agreed) and pd.notna(row["llm_label"]) and agreed == row["candidate_pred"]
                and agreed != row["llm_label"]):
            found.append(f"check this label: both models say {agreed}")
        found += [p for p in str(issue).split(", ") if p and not p.startswith(("duplicate of line", "copied from"))]
        key = " ".join(row["text"].casefold().split())
        if key in first_seen:
            found.append(f"duplicate of case {first_seen[key]}")
        first_seen.setdefault(key, case)
        if ratio >= 1.0:
            found.append("copy of a real tweet")
        elif ratio:
            found.append(f"near-copy of a real tweet ({ratio:.0%} alike): {ref[:80]!r}")
        if row["in_slice"] is False:
            found.append(f"off-slice: not in {slice_name}")
        checks.append("; ".join(found))
    review["check"] = checks
    return review[_REVIEW_COLUMNS]


def apply_label_fixes(cases: pd.DataFrame, fixes: Mapping[int, str] | None) -> pd.DataFrame:
    """The cases with the student's reviewed labels (Step 7); ``cases`` itself is unchanged.

    ``fixes`` (the notebook's LABEL_FIXES): case number -> label, e.g. ``{3: "negative"}``; a case not listed
    keeps the LLM's label. Returns the cases indexed by ``case`` with ``llm_label`` (what the LLM said, kept
    when the cases were already reviewed), ``expected_label`` (the reviewed label: the fix, else the LLM's)
    and ``label_changed`` (the fix differs from the LLM's label). Scoring uses ``expected_label``.

    Raises ``TypeError`` when ``fixes`` is not a dict, and one ``ValueError`` naming every unknown case number
    and every label that is not negative / neutral / positive.

    >>> from lab4.paste import parse_generated_cases
    >>> cases = parse_generated_cases("1. meh | positive\\n2. ugh | negative", expected_n=2)
    >>> apply_label_fixes(cases, {1: "neutral"})[["llm_label", "expected_label", "label_changed"]].values.tolist()
    [['positive', 'neutral', True], ['negative', 'negative', False]]
    """
    _require_table(cases, ["text", "expected_label"], "apply_label_fixes", "cases from lab.generate_cases")
    fixes = {} if fixes is None else fixes
    if not isinstance(fixes, Mapping):
        raise TypeError(f"LABEL_FIXES must be a dict of case number -> label, e.g. {{3: 'negative'}}; "
                        f"got {type(fixes).__name__}.")
    frame = _numbered(cases)
    llm = _llm_labels(frame)
    numbers = f"{frame.index.min()}-{frame.index.max()}" if len(frame) else "none"
    problems, labels = [], {}
    for case, label in fixes.items():
        is_number = isinstance(case, (int, np.integer)) and not isinstance(case, bool)
        if not is_number or case not in frame.index:
            hint = f" (write {{{case.strip()}: ...}} without quotes)" if isinstance(case, str) and case.strip().isdigit() else ""
            problems.append(f"case {case!r} does not exist{hint}; the review table numbers them {numbers}")
            continue
        word = label.strip().lower() if isinstance(label, str) else None
        if word not in LABELS:
            problems.append(f"LABEL_FIXES[{case}] = {label!r} is not a label; use one of {', '.join(map(repr, LABELS))}")
            continue
        labels[int(case)] = word
    if problems:
        raise ValueError("LABEL_FIXES: " + "; ".join(problems) + ". Fix LABEL_FIXES and re-run the cell.")
    expected = llm.copy()
    for case, word in labels.items():
        expected[case] = word
    changed = [case in labels and (pd.isna(llm[case]) or labels[case] != llm[case]) for case in frame.index]
    reviewed = frame.drop(columns=[c for c in ("llm_label", "label_changed") if c in frame])
    at = list(reviewed.columns).index("expected_label")
    reviewed.insert(at, "llm_label", llm)
    reviewed["expected_label"] = expected.astype("string")
    reviewed.insert(at + 2, "label_changed", changed)
    reviewed.attrs["label_fixes"] = labels
    return reviewed
