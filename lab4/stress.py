"""Step 7: the generation prompt, the parser for pasted LLM answers, and scoring generated cases.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import warnings
from typing import Callable
from typing import Iterable
from typing import Mapping

import numpy as np
import pandas as pd

from .cache import PredictionCache
from .config import CACHE_DIR, LABELS, _MODELS
from .data import normalise_labels
from .models import SentimentModel
from .runtime import SEED
from .slicing import _describe, add_slice_metadata, slice_masks
from .stats import _proportion
from .validate import _require_table


N_GENERATED_CASES = 10  # tweets asked of the LLM: enough to see a pattern, few enough to read and check by hand

PROMPT_EXAMPLES = 5  # real slice tweets shown in the prompt: they set the style without inviting copies

MAX_TWEET_CHARS = 280  # Twitter's limit; a longer "tweet" is unlike anything the models were tested on

_LABEL_WORD = r"(?P<label>negative|neutral|positive|neg|neu|pos)"

_LABEL_KEY = r"(?:(?:expected|intended|true)[ _]?)?(?:label|sentiment|class|polarity)"

_KEYED = rf"(?:{_LABEL_KEY}\s*[:=]\s*)"

_SEP = r"(?:\||\t|->|→|=>|⇒|\s[-–—]|(?<=[\"”’']),)"  # "-" only after a space; "," only after a quote

_LIST_MARKER = re.compile(r"^(?:[(\[]?\d{1,3}\s*[.):\]]|\d{1,3}\s+[-–—]|[-*•·–—])\s+"
                          r"|^(?:tweet|case|example)\s*#?\d{1,3}\s*[.:)–—-]\s*", re.I)

_TRAILING_LABEL = re.compile(  # "text | positive", "text (positive)", "text -> Label: pos", "text Sentiment: Positive"
    rf"^(?P<text>.*?)\s*(?:{_SEP}\s*[\[(]?|[\[(]|(?={_LABEL_KEY}\s*[:=]))\s*{_KEYED}?{_LABEL_WORD}"
    r"\s*[\])]?[.!]?\s*$", re.I)

_LEADING_LABEL = re.compile(  # "[positive] text", "Positive: text", "negative - text"
    rf"^(?P<open>[\[(]\s*)?{_KEYED}?{_LABEL_WORD}\s*(?(open)[\])]\s*(?:[:|]|[-–—])?|(?:[:|]|(?<=\s)[-–—]))"
    r"\s*(?P<text>\S.*)$", re.I)

_PIPE_REST = re.compile(r"^(?P<text>.*?)\s*\|\s*(?P<label>[^|]*)$")  # "text | sarcastic": label not understood

_LABEL_LINE = re.compile(  # a line that is only a label: "Label: positive" (previous tweet) or "Positive:" (section)
    rf"^(?:#+\s*)?[\[(]?\s*(?P<key>{_KEYED})?{_LABEL_WORD}\s*(?P<plural>tweets?|cases?|examples?)?\s*[\])]?\s*"
    r"(?P<colon>:)?\s*$", re.I)

_TEXT_HEADER = re.compile(r"(?:tweet[ _]?)?(?:text|tweet|content|sentence)", re.I)

_TEXT_PREFIX = re.compile(r"^(?:tweet|text)\s*:\s*", re.I)

_FENCE = re.compile(r"^(?:```|~~~)")

_RULE = re.compile(r"[|:\-\s]*-{3,}[|:\-\s]*")  # markdown table rule or horizontal rule

_COMMENT = re.compile(r"^#(?:\s|#|$)")  # "# SAMPLE", "## notes"; "#hashtag tweet" is a tweet

_CHATTY = re.compile(
    r":\s*$|^(?:sure|certainly|of course|absolutely|okay|ok|great|here (?:are|is|you go)|below (?:are|is)|"
    r"i hope|hope (?:this|these|that|it)|let me know|feel free|note\b|these (?:tweets|cases|examples)|"
    r"each (?:tweet|case)|i(?:'ve| have) (?:written|tried|included|kept|made))\b", re.I)

_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "`": "`"}

_WARN_ITEMS = 20  # at most this many problems are listed in one warning; the issues column has them all

_SYNTHETIC_SUMMARY_COLUMNS = ["model", "n_cases", "failures", "failure_rate", "lo", "hi", "slice_n",
                              "slice_error_rate", "slice_lo", "slice_hi", "regressions", "regression_rate"]


def _require_models(models) -> None:
    if not isinstance(models, Mapping) or not set(_MODELS) <= set(models):
        found = sorted(models) if isinstance(models, Mapping) else type(models).__name__
        raise ValueError(f"models must be a dict with 'baseline' and 'candidate' (from lab.load_models); "
                         f"found {found}.")


def _slice_predicate(slices, slice_name: str) -> Callable:
    """The predicate of ``slice_name`` in the registry, or an error listing the known slices."""
    slices = dict(slices or {})
    if slice_name not in slices:
        known = ", ".join(map(repr, slices)) or "none (pass slices=slices)"
        raise ValueError(f"unknown slice {slice_name!r}; known slices: {known}. Set WEAK_SLICE to one of them "
                         "or add it with @lab.add_slice(slices).")
    return slices[slice_name]


def _slice_rows(df: pd.DataFrame, slices, slice_name: str) -> pd.DataFrame:
    """The rows of ``df`` in the slice; a clear error when the slice is empty."""
    mask = slice_masks(df, {slice_name: _slice_predicate(slices, slice_name)})[slice_name]
    if not mask.any():
        sizes = {k: int(m.sum()) for k, m in slice_masks(df, slices).items() if m.any()}
        raise ValueError(f"slice {slice_name!r} has no tweets in df_eval; pick a slice with tweets "
                         f"(name: tweets): {sizes}.")
    return df[mask.to_numpy()]


def _prompt_examples(rows: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` rows: regressions first, then other candidate errors, then the rest (random within each)."""
    def flag(col, default):
        return rows[col].fillna(default).astype(bool).to_numpy() if col in rows else np.full(len(rows), default)

    rank = np.select([flag("regressed", False), ~flag("candidate_correct", True)], [0, 1], 2)
    shuffled = rows.assign(_rank=rank).sample(frac=1, random_state=seed)
    return shuffled.sort_values("_rank", kind="stable").head(n)


def _clean_text(text: str) -> str:
    """Drop a "Tweet:" prefix and one pair of surrounding quotes (straight or curly)."""
    text = _TEXT_PREFIX.sub("", text.strip())
    if len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def _loads(text: str):
    """JSON, or a Python literal (single quotes) as some chat LLMs write it; None when it is neither."""

    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _item_record(item) -> dict:
    """A case from one JSON item: a string (read like a pasted line) or an object with text/label keys."""
    if isinstance(item, str):
        return _line_record(item)
    if isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(v, str) for v in item):
        item = {"text": item[0], "label": item[1]}  # ["tweet", "positive"] pairs
    if not isinstance(item, dict):
        return {"text": json.dumps(item, ensure_ascii=False), "label": None, "structured": True}
    keys = {str(k).strip().lower(): v for k, v in item.items()}
    text = next((v for k, v in keys.items() if _TEXT_HEADER.fullmatch(k)), None)
    if text is None:  # unknown key: take the longest string value
        text = max((v for v in item.values() if isinstance(v, str)), key=len, default="")
    label = next((v for k, v in keys.items() if re.fullmatch(_LABEL_KEY, k, re.I)), None)
    return {"text": _clean_text(str(text)), "label": None if label is None else str(label), "structured": True}


def _line_record(line: str) -> dict:
    """A case from one pasted line. ``structured``: it had a list marker, a label or a JSON object."""
    if line.startswith("{"):
        item = _loads(line.rstrip(","))
        if isinstance(item, dict):
            return _item_record(item)
    body = _LIST_MARKER.sub("", line, count=1)
    structured, label = body != line, None
    match = _TRAILING_LABEL.match(body) or _LEADING_LABEL.match(body) or _PIPE_REST.match(body)
    if match:
        body, label, structured = match["text"], match["label"], True
    return {"text": _clean_text(body), "label": label, "structured": structured}


def _table_cells(line: str, delimiter: str) -> list[str]:

    if delimiter == "|":
        line = line.strip().strip("|")
    return next(csv.reader([line], delimiter=delimiter), [])  # unstripped, so glued pieces keep their spaces


def _table_header(line: str) -> tuple[str, int, int, int] | None:
    """(delimiter, columns, text index, label index) when ``line`` is a header such as ``text,label``."""
    for delimiter in "|\t,;":
        names = [c.strip().strip("\"'`").lower() for c in _table_cells(line, delimiter)]
        text = next((i for i, c in enumerate(names) if _TEXT_HEADER.fullmatch(c)), None)
        label = next((i for i, c in enumerate(names) if re.fullmatch(_LABEL_KEY, c, re.I)), None)
        if len(names) >= 2 and text is not None and label is not None:
            return delimiter, len(names), text, label
    return None


def _table_record(line: str, header: tuple[str, int, int, int]) -> dict | None:
    """A case from a CSV / markdown-table row, or None when the row does not fit the header."""
    delimiter, width, text, label = header
    cells = _table_cells(line, delimiter)
    if len(cells) < width:
        return None
    extra = len(cells) - width  # an unquoted delimiter inside the tweet: glue the pieces back
    cells = cells[:text] + [delimiter.join(cells[text:text + extra + 1])] + cells[text + extra + 1:]
    raw = cells[label].strip()
    if delimiter != "|" and raw and pd.isna(_normalise_label(raw)[0]):
        return None  # e.g. a chatty outro with a comma in it
    return {"text": _clean_text(cells[text]), "label": raw or None, "structured": True}


def _json_records(lines: list[str]) -> tuple[list[dict], range]:
    """Cases from a JSON array (or an object holding one) in the paste, and the lines it spans."""
    starts = [i for i, s in enumerate(lines) if s.lstrip().startswith(("[", "{"))]
    ends = [i for i, s in enumerate(lines) if s.rstrip().endswith(("]", "}"))]
    if not starts or not ends or ends[-1] < starts[0]:
        return [], range(0)
    first, last = starts[0], ends[-1]
    data = _loads("\n".join(lines[first:last + 1]))
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    if not isinstance(data, list):
        return [], range(0)
    records, at = [], first
    for item in data:
        record = _item_record(item)
        needles = {json.dumps(record["text"][:30], ensure_ascii=a)[1:-1] for a in (False, True)}
        at = next((i for i in range(at, last + 1) if any(n in lines[i] for n in needles)), at)
        records.append({**record, "structured": True, "line": at + 1, "raw": lines[at].strip()})
    return records, range(first, last + 1)


def _normalise_label(raw) -> tuple[object, str]:
    """(label or <NA>, issue) for one pasted label, through normalise_labels' rules."""
    token = "" if raw is None else str(raw).strip(" *_[]()\"'.:")
    if not token:
        return pd.NA, "no label"
    try:
        value = normalise_labels(pd.Series([token])).iloc[0]
    except ValueError:
        value = pd.NA
    return (value, "") if pd.notna(value) else (pd.NA, f"label {token!r} not understood")


def build_generation_prompt(hypothesis: str, slice_name: str, df_eval: pd.DataFrame,
                            slices: Mapping[str, Callable], *, n_cases: int = N_GENERATED_CASES,
                            n_examples: int = PROMPT_EXAMPLES, balanced: bool = True, seed: int = SEED) -> str:
    """A prompt to paste into any chat LLM: it asks for ``n_cases`` new tweets that test ``hypothesis``.

    The prompt names the slice and its description, shows up to ``n_examples`` real tweets of the slice
    from ``df_eval`` with their true labels (regressions first, then other candidate errors, then the rest;
    sampled with ``seed``), asks for TweetEval-style tweets (@user, http://t.co/... links), labels balanced
    over negative / neutral / positive unless ``balanced=False``, and exactly one ``N. tweet text | label``
    line per tweet, which :func:`parse_generated_cases` reads. A leading "SAMPLE:" in the hypothesis is
    dropped. Raises ``ValueError`` for an empty hypothesis, an unknown slice or an empty slice.
    """
    if not isinstance(hypothesis, str) or not re.sub(r"^\s*SAMPLE:", "", hypothesis).strip():
        raise ValueError("HYPOTHESIS is empty; write one sentence on why the candidate fails on the slice, e.g. "
                         "'The candidate misreads negated praise such as \"not bad\".'")
    if int(n_cases) < 1:
        raise ValueError(f"n_cases={n_cases}; ask for at least 1 tweet (the lab asks for {N_GENERATED_CASES}).")
    _require_table(df_eval, ["text", "label"], "build_generation_prompt", "df_eval from lab.build_eval_table")
    rows = _slice_rows(df_eval, slices, slice_name)
    description = _describe(slices[slice_name])
    examples = [f'- "{" ".join(str(t).split())}" (true label: {label})'
                for t, label in _prompt_examples(rows, n_examples, seed)[["text", "label"]].itertuples(index=False)]
    if balanced:
        counts = [(n_cases // len(LABELS) + (i < n_cases % len(LABELS)), label) for i, label in enumerate(LABELS)]
        labels = "exactly " + ", ".join(f"{k} {label}" for k, label in counts if k)
    else:
        labels = "any mix that fits the hypothesis"
    hypothesis = re.sub(r"^\s*SAMPLE:\s*", "", hypothesis).strip()
    return "\n".join([
        "I am stress-testing a tweet sentiment classifier (labels: negative, neutral, positive).",
        "",
        f"Hypothesis about where it fails: {hypothesis}",
        f'The tweets that matter form the slice "{slice_name}": {description}',
        "",
        "Real tweets from this slice with their true labels (for style only; do not copy or paraphrase them):",
        *examples,
        "",
        f"Write {n_cases} new, realistic tweets that test this hypothesis. Rules:",
        f"- Every tweet fits the slice: {description.rstrip('.')}.",
        "- Include tweets where the hypothesis predicts a mistake, and similar ones where it predicts none.",
        f"- Labels: {labels}. The label is the sentiment most readers would agree on; avoid unclear tweets.",
        "- Write like the TweetEval data set: casual tweets by ordinary users, mentions written as @user, "
        "links as http://t.co/ plus 10 random letters, hashtags and emoji only where natural.",
        f"- Each tweet fits on one line, has at most {MAX_TWEET_CHARS} characters and no '|' character.",
        "",
        f"Answer with exactly {n_cases} lines and nothing else (no introduction, notes or markdown), like this:",
        "1. <tweet text> | <label>",
        "2. <tweet text> | <label>",
        "where <label> is one of: negative, neutral, positive.",
    ])


def parse_generated_cases(raw_text: str, *, expected_n: int | None = N_GENERATED_CASES,
                          reference_texts: Iterable[str] | None = None) -> pd.DataFrame:
    """Read the LLM's answer, as pasted, into one row per generated tweet.

    Accepted: numbered lists (``1.``, ``1)``, ``(1)``, ``Tweet 1:``), bullets (``-``, ``*``, ``•``), one tweet
    per line, a JSON array (strings, or objects with text/tweet and label/sentiment/expected_label keys) or
    JSON lines, CSV or markdown tables with a header naming a text and a label column, and labels written
    ``text | label``, ``text -> label``, ``text - label`` (only when the last word is a label), ``text
    (positive)``, ``[positive] text``, ``Positive: text``, a ``Label: positive`` line under the tweet, or a
    ``Positive:`` heading over a group. Labels go through :func:`normalise_labels` (Positive, pos, neg ...).
    Surrounding quotes (straight or curly), ``**bold**``, blank lines, markdown fences and lines starting
    with ``# `` (comments such as ``# SAMPLE``; ``#hashtag ...`` is a tweet) are skipped.

    Chat around the list is ignored, never silently: when some lines are structured (a list marker, a
    label, JSON or a table row), plain lines before the first or after the last of them are chat; in a
    plain one-tweet-per-line paste, leading and trailing lines that end with ':' or open like chat
    ("Sure", "Here are", "Hope this helps", "Let me know" ...) are chat. Each ignored line is named in the
    warning and kept in ``.attrs["ignored_lines"]`` as (line, text).

    Returns columns ``text``, ``expected_label`` (one of LABELS or <NA>), ``line`` (1-based line of the paste)
    and ``issues`` (comma-separated: no label, label not understood, empty text, over 280 characters,
    duplicate of line N, copied from a reference tweet — verbatim ignoring case and spacing — or "").
    One ``UserWarning`` lists every problem, including a count other than ``expected_n`` (None: no check).
    An empty paste raises ``ValueError`` saying what to paste.

    >>> parse_generated_cases("1. not bad at all | Positive", expected_n=1)[["text", "expected_label"]].values.tolist()
    [['not bad at all', 'positive']]
    """
    if not isinstance(raw_text, str):
        raise TypeError(f"expected the LLM's answer as one string, got {type(raw_text).__name__}; paste it "
                        'between triple quotes: GENERATED_CASES_TEXT = """ ... """.')
    lines = raw_text.splitlines()
    records, in_json = _json_records(lines)
    ignored, header, section = [], None, None
    for i, raw_line in enumerate(lines):
        line = raw_line.replace("**", "").strip()
        if i in in_json or not line or _FENCE.match(line) or _RULE.fullmatch(line):
            continue
        label_line = _LABEL_LINE.match(line)
        if label_line:
            previous = records[-1] if records else None
            heading = bool(label_line["colon"] or label_line["plural"] or line.startswith("#"))
            if previous is not None and not previous["label"] and (
                    label_line["key"] or not (heading or _CHATTY.search(previous["raw"]))):
                previous["label"] = label_line["label"]  # "Label: positive" under its tweet
            elif label_line["key"]:
                ignored.append((i + 1, raw_line.strip()))
            else:
                section = label_line["label"]  # "Positive:" over a group of tweets
            continue
        if _COMMENT.match(line):
            continue
        if header is None and (header := _table_header(line)):
            continue
        record = (header and _table_record(line, header)) or _line_record(line)
        if section and record["structured"] and not record["label"]:
            record["label"] = section
        records.append({**record, "line": i + 1, "raw": raw_line.strip()})
    records.sort(key=lambda r: r["line"])
    structured = [k for k, r in enumerate(records) if r["structured"]]
    if structured:
        chat = {k for k, r in enumerate(records) if not r["structured"] and not structured[0] < k < structured[-1]}
    else:
        chat = set()
        for order in (range(len(records)), range(len(records) - 1, -1, -1)):
            for k in order:
                if not _CHATTY.search(records[k]["raw"]):
                    break
                chat.add(k)
    ignored = sorted(ignored + [(records[k]["line"], records[k]["raw"]) for k in chat])
    records = [r for k, r in enumerate(records) if k not in chat]
    if not records:
        seen = f" (ignored as chat: {[text for _, text in ignored][:3]})" if ignored else ""
        raise ValueError("no generated tweets found in the pasted text" + seen + ". Paste the LLM's answer into "
                         "GENERATED_CASES_TEXT, one tweet per line like '1. tweet text | positive' "
                         "(a JSON list or CSV with text,label columns also works).")
    reference = {" ".join(str(t).casefold().split()) for t in (reference_texts if reference_texts is not None else [])}
    first_seen, labels, issues = {}, [], []
    for r in records:
        label, problem = _normalise_label(r["label"])
        key = " ".join(r["text"].casefold().split())
        found = [problem] if problem else []
        found += ["empty text"] if not key else []
        found += [f"{len(r['text'])} characters (over {MAX_TWEET_CHARS})"] if len(r["text"]) > MAX_TWEET_CHARS else []
        found += [f"duplicate of line {first_seen[key]}"] if key in first_seen else []
        found += ["copied from a reference tweet"] if key and key in reference else []
        first_seen.setdefault(key, r["line"])
        labels.append(label)
        issues.append(", ".join(found))
    cases = pd.DataFrame({"text": [r["text"] for r in records], "expected_label": pd.array(labels, dtype="string"),
                          "line": [r["line"] for r in records], "issues": issues})
    cases.attrs["ignored_lines"] = ignored
    problems = ([f"found {len(cases)} cases, expected {expected_n}"] if expected_n is not None
                and len(cases) != expected_n else [])
    problems += [f"ignored line {no}: {text[:70]!r} (not read as a tweet)" for no, text in ignored]
    problems += [f"line {no}: {text}" for no, text in zip(cases["line"], cases["issues"]) if text]
    if problems:
        more = len(problems) - _WARN_ITEMS
        hint = ('\nAdd labels as "1. tweet text | positive" (negative / neutral / positive).'
                if any("label" in text for text in issues) else "")
        warnings.warn(f"parse_generated_cases: {len(problems)} thing(s) to check in the pasted cases:\n  - "
                      + "\n  - ".join(problems[:_WARN_ITEMS]) + (f"\n  ... and {more} more" if more > 0 else "")
                      + hint, UserWarning, stacklevel=2)
    return cases


def score_generated_cases(cases: pd.DataFrame, models: Mapping[str, SentimentModel], *,
                          df_eval: pd.DataFrame | None = None, slices: Mapping[str, Callable] | None = None,
                          slice_name: str | None = None, cache_dir: str | os.PathLike | None = CACHE_DIR,
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run both models on the generated cases and compare their failure rate with the real slice (Step 7).

    Returns ``(scored, summary)``.

    ``scored``: the cases' columns, the slice metadata of :func:`add_slice_metadata`, ``baseline_pred``,
    ``baseline_conf``, ``candidate_pred``, ``candidate_conf``, ``agree`` (same prediction), ``baseline_fails``
    / ``candidate_fails`` (pred != expected_label; <NA> without a label), ``regression`` (candidate fails
    where the baseline is right; <NA> without a label) and ``in_slice`` (the slice's predicate holds for the
    generated tweet; <NA> without ``slice_name`` or when the predicate needs columns the cases lack).

    ``summary``: one row per model. ``n_cases`` labelled cases; ``failures``; ``failure_rate`` = failures /
    n_cases in [0, 1], lower is better, with 95% Wilson interval ``lo`` / ``hi``; ``slice_n`` tweets of the
    slice in ``df_eval`` (all of df_eval without ``slice_name``; NaN without df_eval), ``slice_error_rate``
    (share the model gets wrong there) with ``slice_lo`` / ``slice_hi``; ``regressions`` = labelled cases this
    model gets wrong and the other model right (for the candidate: its regressions; for the baseline: the
    candidate's fixes) and ``regression_rate`` = regressions / n_cases. Compare the candidate's
    regression_rate with the slice's (Step 5's regression_metrics, also in ``summary.attrs``) to see whether
    the generated tweets repeat the slice's regressions. NaN = nothing to count (no labelled case, no
    df_eval); zero labelled cases give a warning, not an error.
    """
    _require_table(cases, ["text", "expected_label"], "score_generated_cases", "cases from lab.parse_generated_cases")
    _require_models(models)
    predicate = _slice_predicate(slices, slice_name) if slice_name is not None else None
    expected = normalise_labels(cases["expected_label"]).reset_index(drop=True)
    scored = add_slice_metadata(cases.reset_index(drop=True).assign(expected_label=expected))
    cache = PredictionCache(cache_dir)
    try:
        for role in _MODELS:
            preds = models[role].predict(scored["text"], cache=cache, progress=False)
            scored[f"{role}_pred"], scored[f"{role}_conf"] = preds["pred"].to_numpy(), preds["conf"].to_numpy()
    finally:
        cache.close()
    scored["agree"] = scored["baseline_pred"] == scored["candidate_pred"]
    for role in _MODELS:
        scored[f"{role}_fails"] = (scored[f"{role}_pred"].astype("string") != expected).astype("boolean")
    scored["regression"] = scored["candidate_fails"] & ~scored["baseline_fails"]
    scored["in_slice"] = pd.array([pd.NA] * len(scored), dtype="boolean")
    if predicate is not None:
        try:
            scored["in_slice"] = pd.array(slice_masks(scored, {slice_name: predicate})[slice_name], dtype="boolean")
        except ValueError as err:
            warnings.warn(f"score_generated_cases: in_slice left <NA>: {err}", UserWarning, stacklevel=2)
    labelled = expected.notna().to_numpy()
    n = int(labelled.sum())
    if n == 0:
        warnings.warn(f"score_generated_cases: none of the {len(scored)} cases has an expected label, so failure "
                      "rates are NaN; label them ('1. tweet text | positive') and parse again.",
                      UserWarning, stacklevel=2)
    in_eval = None
    if df_eval is not None:
        _require_table(df_eval, [f"{m}_correct" for m in _MODELS], "score_generated_cases (df_eval)",
                       "df_eval from lab.build_eval_table")
        in_eval = df_eval if predicate is None else df_eval[
            slice_masks(df_eval, {slice_name: predicate})[slice_name].to_numpy()]
    fails = {m: scored.loc[labelled, f"{m}_fails"].astype(bool).to_numpy() for m in _MODELS}
    rows = []
    for role, other in zip(_MODELS, _MODELS[::-1]):
        k, alone = int(fails[role].sum()), int((fails[role] & ~fails[other]).sum())
        if in_eval is None:
            on_slice = (np.nan,) * 4
        else:
            slice_k = int((~in_eval[f"{role}_correct"].astype(bool)).sum())
            on_slice = (len(in_eval), *_proportion(slice_k, len(in_eval)))
        rows.append((role, n, k, *_proportion(k, n), *on_slice, alone, alone / n if n else np.nan))
    summary = pd.DataFrame(rows, columns=_SYNTHETIC_SUMMARY_COLUMNS)
    if in_eval is not None and "regressed" in in_eval:
        slice_regressions = int(in_eval["regressed"].astype(bool).sum())
        summary.attrs.update(slice=slice_name or "all", slice_regressions=slice_regressions,
                             slice_regression_rate=slice_regressions / len(in_eval) if len(in_eval) else np.nan)
    return scored, summary
