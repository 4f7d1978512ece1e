"""Step 7: the generation prompt, getting the LLM's answer (generated here or pasted), the parser that reads it,
the label review, and scoring the generated cases.

The flow in the notebook: :func:`build_generation_prompt` -> :func:`generate_cases` (the ``GENERATOR``
parameter: an LLM writes the tweets, see ``lab4.generate``; or the student pastes them) -> :func:`review_cases`
(flags labels to check, duplicates, copies of real tweets, off-slice cases) -> :func:`apply_label_fixes`
(``LABEL_FIXES``, the student's corrections) -> :func:`score_generated_cases`. Precomputed models (columns of
saved predictions) cannot score new tweets: Step 7 scores them with the hub model that made the column
(``lab4.models.PRECOMPUTED_HUB_MODELS``) when the hub answers, and skips them with a message otherwise.
"""

from __future__ import annotations

import ast
import csv
import difflib
import json
import os
import re
import warnings
from typing import Callable
from typing import Iterable
from typing import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from .cache import PredictionCache
from .config import CACHE_DIR, LABELS, _MODELS
from .data import normalise_labels
from .generate import DEFAULT_TIMEOUT_S, generate_text
from .models import PRECOMPUTED_HUB_MODELS, SentimentModel, _transformers_model
from .runtime import SEED
from .slicing import _MENTION, _URL, _describe, add_slice_metadata, slice_masks
from .stats import _proportion
from .validate import _require_table


N_GENERATED_CASES = 10  # tweets asked of the LLM: enough to see a pattern, few enough to read and check by hand

PROMPT_EXAMPLES = 5  # real slice tweets shown in the prompt: they set the style without inviting copies

MAX_TWEET_CHARS = 280  # Twitter's limit; a longer "tweet" is unlike anything the models were tested on

NEAR_COPY_RATIO = 0.9  # difflib similarity (links and @mentions removed) from which a case is a near-copy

GENERATED_MIMETYPE = "application/vnd.lab4.generated+json"  # the record generate_cases displays for the TA summary

# --- Patterns of the parser -----------------------------------------------------------------------------

_CAPTURE_LABEL_WORD = r"(?P<label>negative|neutral|positive|neg|neu|pos)"  # a regex part: one label word

_LABEL_KEY = r"(?:(?:expected|intended|true)[ _]?)?(?:label|sentiment|class|polarity)"

_KEYED = rf"(?:{_LABEL_KEY}\s*[:=]\s*)"

_SEP = r"(?:(?<!\\)\||\t|->|→|=>|⇒|\s[-–—]|(?<=[\"”’']),)"  # "-" after a space; "," after a quote; not "\|"

_LABEL_TAIL = r"(?P<note>(?:\s*[\])])?(?:\s*[(\[][^()\[\]|]*[)\]])?[^\w|()\[\]]*)"  # ")", " (sarcasm)", " 😊"

_LIST_MARKER = re.compile(r"^(?:[(\[]?\d{1,3}\s*[.):\]]|\d{1,3}\s+[-–—]|[-*•·–—])\s+"
                          r"|^(?:tweet|case|example)\s*#?\d{1,3}\s*[.:)–—-]\s*", re.I)

_TRAILING_LABEL = re.compile(  # "text | positive", "text (positive)", "text -> Label: pos", "text | Negative (sarcasm)"
    rf"^(?P<text>.*?)\s*(?:{_SEP}\s*[\[(]?|[\[(]|(?={_LABEL_KEY}\s*[:=]))\s*{_KEYED}?{_CAPTURE_LABEL_WORD}\b"
    rf"{_LABEL_TAIL}\s*$", re.I)

_LEADING_LABEL = re.compile(  # "[positive] text", "Positive: text", "negative - text"
    rf"^(?P<open>[\[(]\s*)?{_KEYED}?{_CAPTURE_LABEL_WORD}\s*(?(open)[\])]\s*(?:[:|]|[-–—])?|(?:[:|]|(?<=\s)[-–—]))"
    r"\s*(?P<text>\S.*)$", re.I)

_PIPE_REST = re.compile(r"^(?P<text>.*?)\s*(?<!\\)\|\s*(?P<label>[^|]*)$")  # "text | sarcastic"

_LABEL_LINE = re.compile(  # a line that is only a label: "Label: positive" (previous tweet) or "Positive:" (section)
    rf"^(?:#+\s*)?[\[(]?\s*(?P<key>{_KEYED})?{_CAPTURE_LABEL_WORD}\s*(?P<plural>tweets?|cases?|examples?)?\s*[\])]?\s*"
    r"(?P<colon>:)?\s*$", re.I)

_PASTED_LABEL = re.compile(  # a label cell with a note: "Positive 😊", "Negative (sarcasm)", "neg - sarcastic"
    rf"^\W*{_KEYED}?{_CAPTURE_LABEL_WORD}\b\s*[\])]?(?P<note>.*)$", re.I)

_NOTE_CONTRADICTS = re.compile(r"(?i)\b(?:negative|neutral|positive|neg|neu|pos|mixed|not|or)\b|/")

_TEXT_HEADER = re.compile(r"(?:tweet[ _]?)?(?:text|tweet|content|sentence)", re.I)

_TEXT_PREFIX = re.compile(r"^(?:tweet|text)\s*:\s*", re.I)

_FENCE = re.compile(r"^(?:```|~~~)")

_RULE = re.compile(r"[|:\-\s]*-{3,}[|:\-\s]*")  # markdown table rule or horizontal rule

_COMMENT = re.compile(r"^#(?:\s|#|$)")  # "# SAMPLE", "## notes"; "#hashtag tweet" is a tweet

_CHATTY = re.compile(
    r":\s*$|^(?:sure|certainly|of course|absolutely|okay|ok|great|here (?:are|is|you go)|below (?:are|is)|"
    r"i hope|hope (?:this|these|that|it)|let me know|feel free|note\b|these (?:tweets|cases|examples)|"
    r"each (?:tweet|case)|i(?:'ve| have) (?:written|tried|included|kept|made))\b", re.I)

_ESCAPED_UNICODE = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")  # "\ud83d\ude0d" as typed characters

_SURROGATE = re.compile("[\ud800-\udfff]")

_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "`": "`"}

_WARN_ITEMS = 20  # at most this many problems are listed in one warning; the issues column has them all

_SYNTHETIC_SUMMARY_COLUMNS = ["model", "n_cases", "labels_changed", "failures", "failure_rate", "lo", "hi",
                              "slice_n", "slice_error_rate", "slice_lo", "slice_hi", "regressions",
                              "regression_rate"]

_REVIEW_COLUMNS = ["text", "llm_label", "baseline_pred", "baseline_conf", "candidate_pred", "candidate_conf",
                   "in_slice", "check"]


# --- Shared checks --------------------------------------------------------------------------------------

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


# --- Models for new tweets (precomputed columns cannot score them) --------------------------------------

_NEW_TEXT_MODELS: dict = {}  # (role, hub id) -> the loaded hub model: re-running a Step 7 cell loads it once

_SKIPPED_BEFORE: set = set()  # (role, model id) already explained at length: later calls say it in one line


def models_for_new_texts(models: Mapping[str, SentimentModel], *, hub_models: Mapping[str, str] | None = None,
                         verbose: bool = True) -> dict[str, SentimentModel | None]:
    """The model each role uses on tweets that are not in the loaded data (generated or perturbed ones).

    A model that runs on any text is itself. A precomputed model (``precomputed:<column>``: saved predictions,
    which exist only for the loaded CSV's tweets) is replaced by the hub model ``hub_models`` (default
    ``lab4.models.PRECOMPUTED_HUB_MODELS``) names for its column, loaded once, when the hub answers (or the
    name is a local folder); otherwise it is ``None`` and the caller skips its scores. ``verbose`` prints
    which model stands in, or why none does.
    """
    table = PRECOMPUTED_HUB_MODELS if hub_models is None else hub_models
    out = {}
    for role in _MODELS:
        model = models[role]
        if model.kind != "precomputed":
            out[role] = model
            continue
        column = model.model_id.split(":", 1)[-1]
        hub_id = table.get(column)
        why = None
        if hub_id is None:
            why = f"no hub model is listed for column {column!r} in PRECOMPUTED_HUB_MODELS"
        elif (role, hub_id) not in _NEW_TEXT_MODELS:
            try:
                _NEW_TEXT_MODELS[role, hub_id] = _transformers_model(role, hub_id)
            except ConnectionError:
                why = f"the model behind it, {hub_id}, needs the Hugging Face hub, which does not answer"
            except (ValueError, OSError, ImportError) as err:
                why = f"the model behind it, {hub_id}, could not be loaded: {str(err).splitlines()[0][:200]}"
        out[role] = None if why else _NEW_TEXT_MODELS[role, hub_id]
        if not verbose:
            continue
        if why is None:
            print(f"{role} is {model.model_id}: new tweets are scored by {hub_id} (PRECOMPUTED_HUB_MODELS).")
        elif (role, model.model_id) in _SKIPPED_BEFORE:
            print(f"{role} is {model.model_id} and cannot score new tweets: its scores are skipped (<NA>/NaN).")
        else:
            _SKIPPED_BEFORE.add((role, model.model_id))
            print(f"{role} is {model.model_id}: saved predictions exist only for the loaded tweets, and {why}. Its "
                  "scores on new tweets are skipped (<NA>/NaN); the notebook goes on. To score them, set "
                  f"{role.upper()} to a model that runs (a hub id or folder, 'vader', 'minilm-logreg').")
    return out


def _predict_new(models: Mapping[str, SentimentModel | None], texts, cache_dir) -> dict[str, pd.DataFrame | None]:
    """Each role's predictions (columns pred, conf) on ``texts``, None for a role without a runnable model."""
    cache, out = PredictionCache(cache_dir), {}
    try:
        for role in _MODELS:
            model = models[role]
            out[role] = None if model is None else model.predict(list(texts), cache=cache, progress=False)
    finally:
        cache.close()
    return out


def _prediction_columns(frame: pd.DataFrame, preds: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame:
    """``frame`` with ``<role>_pred`` (string, <NA> when skipped) and ``<role>_conf`` for both roles."""
    for role in _MODELS:
        got = preds[role]
        frame[f"{role}_pred"] = (pd.array([pd.NA] * len(frame), dtype="string") if got is None
                                 else pd.array(got["pred"].to_numpy(), dtype="string"))
        frame[f"{role}_conf"] = np.full(len(frame), np.nan) if got is None else got["conf"].to_numpy(dtype=float)
    return frame


# --- Reading the paste: text, labels, records -----------------------------------------------------------

def _join_surrogates(text: str) -> str:
    """Surrogate pairs joined into the character they encode; a lone half becomes U+FFFD.

    An LLM's JSON escapes emoji as ``\\ud83d\\ude0d``; pasted between the triple quotes of a (non-raw) Python
    string, they become two surrogate code points that no encoder accepts.

    >>> _join_surrogates("love it \\ud83d\\ude0d"), _join_surrogates("half \\ud83d")
    ('love it 😍', 'half �')
    """
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _clean_text(text: str) -> str:
    """Drop a "Tweet:" prefix and one pair of surrounding quotes (straight or curly), turn markdown's ``\\|``
    into ``|`` and typed ``\\uXXXX`` escapes into their characters."""
    text = _TEXT_PREFIX.sub("", text.strip())
    if len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    text = text.replace("\\|", "|")
    return _ESCAPED_UNICODE.sub(lambda m: _join_surrogates(m.group().encode().decode("unicode_escape")), text)


def _read_pasted_label(raw) -> tuple[object, str]:
    """(label or <NA>, issue) for one pasted label.

    Spellings go through ``normalise_labels`` (Positive, pos, neg ...). A note after the label word is
    dropped when it cannot change the label: emoji (``Positive 😊``), a bracketed remark (``Negative
    (sarcasm)``) or one after a dash or colon; a note naming another label, "mixed", "not" or "or" makes the
    label not understood.

    >>> _read_pasted_label("Positive 😊"), _read_pasted_label("Negative (sarcasm)")
    (('positive', ''), ('negative', ''))
    >>> _read_pasted_label("positive (or neutral)")[1]
    "label 'positive (or neutral)' not understood"
    """
    token = "" if raw is None else str(raw).strip(" *_[]()\"'.:`")
    if not token:
        return pd.NA, "no label"
    try:
        value = normalise_labels(pd.Series([token])).iloc[0]
    except ValueError:
        value = pd.NA
        match = _PASTED_LABEL.match(str(raw).strip())
        note = "" if match is None else re.sub(r"[\W_]+", " ", match["note"], flags=re.UNICODE)
        if match and not _NOTE_CONTRADICTS.search(match["note"]) and (
                not note.strip() or re.match(r"\s*[(\[:\-–—,]", match["note"])):
            value = normalise_labels(pd.Series([match["label"]])).iloc[0]
    shown = str(raw).strip(" *_\"'`")
    return (value, "") if pd.notna(value) else (pd.NA, f"label {shown!r} not understood")


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
    if match:  # the label keeps its note ("Negative (sarcasm)"): _read_pasted_label judges it
        body, label, structured = match["text"], match["label"] + (match.groupdict().get("note") or ""), True
    return {"text": _clean_text(body), "label": label, "structured": structured}


def _table_cells(line: str, delimiter: str) -> list[str]:
    """The cells of a CSV / TSV / markdown-table row (markdown's ``\\|`` stays inside its cell)."""
    if delimiter == "|":
        return re.split(r"(?<!\\)\|", line.strip().strip("|"))  # unstripped: glued pieces keep their spaces
    return next(csv.reader([line], delimiter=delimiter), [])


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
    if delimiter != "|" and raw and pd.isna(_read_pasted_label(raw)[0]):
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


def _visible(line: str) -> str:
    """The line without **bold** markers and surrounding space; "" for a markdown fence or rule."""
    line = line.replace("**", "").strip()
    return "" if _FENCE.match(line) or _RULE.fullmatch(line) else line


def _continues_a_tweet(raw_line: str) -> bool:
    """True for a line that may be the wrapped rest of the tweet above: not a new item, label, heading,
    comment, table row, JSON or chat."""
    line = _visible(raw_line)
    return bool(line) and not (_LIST_MARKER.match(line) or _LABEL_LINE.match(line) or _COMMENT.match(line)
                               or _CHATTY.search(line) or line.startswith(("{", "[", "|")))


def _logical_lines(lines: list[str], skip: range) -> list[tuple[int, str, str]]:
    """(1-based line number, visible text, raw text) of each line to read, wrapped tweets joined.

    A tweet the chat window wrapped is a numbered or bulleted line without a label followed directly by
    unnumbered lines; they are joined when one of them is indented or the last one ends in a label.
    """
    out, i = [], 0
    while i < len(lines):
        line = "" if i in skip else _visible(lines[i])
        if not line:
            i += 1
            continue
        out.append((i + 1, line, lines[i].strip()))
        i += 1
        if not (_LIST_MARKER.match(line) and _line_record(line)["label"] is None):
            continue
        run = []
        while i + len(run) < len(lines) and i + len(run) not in skip and _continues_a_tweet(lines[i + len(run)]):
            run.append(i + len(run))
        if run and (any(lines[k][:1].isspace() for k in run) or _line_record(_visible(lines[run[-1]]))["label"]):
            joined = " ".join([line] + [_visible(lines[k]) for k in run])
            out[-1] = (out[-1][0], joined, joined)
            i += len(run)
    return out


def _read_records(lines: list[str]) -> tuple[list[dict], list[tuple[int, str]]]:
    """Step 1 of parsing: every candidate case (dict with text, label, structured, line, raw) in line order,
    and the label-only lines that had no tweet to attach to, as (line, text)."""
    records, in_json = _json_records(lines)
    ignored, header, section = [], None, None
    for number, line, raw in _logical_lines(lines, in_json):
        label_line = _LABEL_LINE.match(line)
        if label_line:
            previous = records[-1] if records else None
            heading = bool(label_line["colon"] or label_line["plural"] or line.startswith("#"))
            if previous is not None and not previous["label"] and (
                    label_line["key"] or not (heading or _CHATTY.search(previous["raw"]))):
                previous["label"] = label_line["label"]  # "Label: positive" under its tweet
            elif label_line["key"]:
                ignored.append((number, raw))
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
        records.append({**record, "line": number, "raw": raw})
    return sorted(records, key=lambda r: r["line"]), ignored


def _drop_chat(records: list[dict]) -> tuple[list[dict], list[tuple[int, str]]]:
    """Step 2: (cases, chat lines as (line, text)). With structured records, plain lines before the first or
    after the last of them are chat; in a plain paste, leading and trailing chatty lines are."""
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
    return ([r for k, r in enumerate(records) if k not in chat],
            [(records[k]["line"], records[k]["raw"]) for k in sorted(chat)])


def _match_key(text: str) -> str:
    """Case, spacing, links, @mentions and punctuation removed: what "a copy" compares."""
    text = re.sub(f"{_URL}|{_MENTION}", " ", str(text).casefold())
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def _cases_table(records: list[dict], reference_texts) -> pd.DataFrame:
    """Step 3: the cases table (index ``case`` from 1), labels read and each row's issues listed."""
    reference = {" ".join(str(t).casefold().split()) for t in (reference_texts if reference_texts is not None else [])}
    first_seen, labels, issues = {}, [], []
    for r in records:
        label, problem = _read_pasted_label(r["label"])
        key = " ".join(r["text"].casefold().split())
        found = [problem] if problem else []
        found += ["empty text"] if not key else []
        found += [f"{len(r['text'])} characters (over {MAX_TWEET_CHARS})"] if len(r["text"]) > MAX_TWEET_CHARS else []
        found += [f"duplicate of line {first_seen[key]}"] if key in first_seen else []
        found += ["copied from a reference tweet"] if key and key in reference else []
        first_seen.setdefault(key, r["line"])
        labels.append(label)
        issues.append(", ".join(found))
    return pd.DataFrame({"text": [r["text"] for r in records], "expected_label": pd.array(labels, dtype="string"),
                         "line": [r["line"] for r in records], "issues": issues},
                        index=pd.RangeIndex(1, len(records) + 1, name="case"))


def _problems(cases: pd.DataFrame, ignored: list[tuple[int, str]], expected_n: int | None) -> list[str]:
    """Step 4: everything to check, one sentence each: the count, ignored lines, each row's issues."""
    problems = ([f"found {len(cases)} cases, expected {expected_n}"] if expected_n is not None
                and len(cases) != expected_n else [])
    problems += [f"ignored line {no}: {text[:70]!r} (not read as a tweet)" for no, text in ignored]
    return problems + [f"line {no}: {text}" for no, text in zip(cases["line"], cases["issues"]) if text]


def _warn_problems(problems: list[str], issues: Iterable[str], *, stacklevel: int) -> None:
    if not problems:
        return
    more = len(problems) - _WARN_ITEMS
    hint = ('\nAdd labels as "1. tweet text | positive" (negative / neutral / positive).'
            if any("label" in text for text in issues) else "")
    warnings.warn(f"parse_generated_cases: {len(problems)} thing(s) to check in the pasted cases:\n  - "
                  + "\n  - ".join(problems[:_WARN_ITEMS]) + (f"\n  ... and {more} more" if more > 0 else "")
                  + hint, UserWarning, stacklevel=stacklevel + 1)


def _parse(raw_text, expected_n, reference_texts) -> tuple[pd.DataFrame, list[str]]:
    """parse_generated_cases without the warning: (cases, problems)."""
    if not isinstance(raw_text, str):
        raise TypeError(f"expected the LLM's answer as one string, got {type(raw_text).__name__}; paste it "
                        'between triple quotes: GENERATED_CASES_TEXT = """ ... """.')
    records, ignored = _read_records(_join_surrogates(raw_text).splitlines())
    records, chat = _drop_chat(records)
    ignored = sorted(ignored + chat)
    if not records:
        seen = f" (ignored as chat: {[text for _, text in ignored][:3]})" if ignored else ""
        raise ValueError("no generated tweets found in the pasted text" + seen + ". Paste the LLM's answer into "
                         "GENERATED_CASES_TEXT, one tweet per line like '1. tweet text | positive' "
                         "(a JSON list or CSV with text,label columns also works).")
    cases = _cases_table(records, reference_texts)
    cases.attrs["ignored_lines"] = ignored
    return cases, _problems(cases, ignored, expected_n)


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
    """Read the LLM's answer, as pasted or generated, into one row per generated tweet.

    Accepted: numbered lists (``1.``, ``1)``, ``(1)``, ``Tweet 1:``), bullets (``-``, ``*``, ``•``), one tweet
    per line, a JSON array (strings, or objects with text/tweet and label/sentiment/expected_label keys) or
    JSON lines, CSV or markdown tables with a header naming a text and a label column, and labels written
    ``text | label``, ``text -> label``, ``text - label`` (only when the last word is a label), ``text
    (positive)``, ``[positive] text``, ``Positive: text``, a ``Label: positive`` line under the tweet, or a
    ``Positive:`` heading over a group. Labels go through :func:`normalise_labels` (Positive, pos, neg ...);
    a note after the label that cannot change it is dropped (``Positive 😊``, ``Negative (sarcasm)``).
    Surrounding quotes (straight or curly), ``**bold**``, blank lines, markdown fences and lines starting
    with ``# `` (comments such as ``# SAMPLE``; ``#hashtag ...`` is a tweet) are skipped. A tweet the chat
    window wrapped over several lines (a numbered line without a label, then unnumbered lines that are
    indented or end in a label) is one tweet. Markdown's ``\\|`` is a ``|`` in the tweet; emoji escaped as
    ``\\ud83d\\ude0d`` (JSON's way) become the emoji.

    Chat around the list is ignored, never silently: when some lines are structured (a list marker, a
    label, JSON or a table row), plain lines before the first or after the last of them are chat; in a
    plain one-tweet-per-line paste, leading and trailing lines that end with ':' or open like chat
    ("Sure", "Here are", "Hope this helps", "Let me know" ...) are chat. Each ignored line is named in the
    warning and kept in ``.attrs["ignored_lines"]`` as (line, text).

    Returns one row per case, indexed by ``case`` (1, 2, ...: the numbers LABEL_FIXES uses), with columns
    ``text``, ``expected_label`` (one of LABELS or <NA>), ``line`` (1-based line of the paste) and ``issues``
    (comma-separated: no label, label not understood, empty text, over 280 characters, duplicate of line N,
    copied from a reference tweet — verbatim ignoring case and spacing — or ""). One ``UserWarning`` lists
    every problem, including a count other than ``expected_n`` (None: no check). An empty paste raises
    ``ValueError`` saying what to paste.

    >>> parse_generated_cases("1. not bad at all | Positive", expected_n=1)[["text", "expected_label"]].values.tolist()
    [['not bad at all', 'positive']]
    """
    cases, problems = _parse(raw_text, expected_n, reference_texts)
    _warn_problems(problems, cases["issues"], stacklevel=2)
    return cases


class GeneratedCases(NamedTuple):
    """What :func:`generate_cases` returns; the notebook unpacks it as ``GENERATED_CASES_TEXT, GENERATED_BY, cases``."""

    text: str  # the text that was parsed: the generated answer, or the pasted one
    generated_by: str  # "<source>:<model>" that wrote it (e.g. "openai:gpt-4o-mini"), or "pasted"
    cases: pd.DataFrame  # the parsed cases (parse_generated_cases)


def _display_record(record: dict, plain: str) -> None:
    """Show ``plain`` in the cell output, with ``record`` under GENERATED_MIMETYPE for tools that read notebooks."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover -- Jupyter always has IPython
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(plain)
        return
    display({GENERATED_MIMETYPE: record, "text/plain": plain}, raw=True)


def generate_cases(prompt: str, generator: str | None = None, *, pasted: str | None = None,
                   n: int = N_GENERATED_CASES, seed: int | None = SEED, reference_texts: Iterable[str] | None = None,
                   cache_dir: str | os.PathLike | None = CACHE_DIR, env: Mapping[str, str] | None = None,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> GeneratedCases:
    """Have ``generator`` write the tweets ``prompt`` asks for, or take the ``pasted`` answer; parse it (Step 7).

    ``generator``: the notebook's GENERATOR (see ``lab4.generate``): None (the copy-paste flow: ``pasted`` is
    parsed), ``"auto"``, ``"hub:<model id>"``, ``"openai:<model>"`` (OPENAI_BASE_URL and OPENAI_API_KEY are read
    from ``env``, default the process environment, never written) or ``"offline"``. Answers are cached by
    (prompt, generator, n, ``seed``) in ``cache_dir``, so re-running the cell gives the same tweets and the
    label fixes keep referring to them. When generation fails, the message says why and ``pasted`` is parsed.

    The text that is parsed is shown in the cell output, headed "Generated by <model> (<source>)" (or a line
    saying the paste was parsed), together with a record under the mimetype GENERATED_MIMETYPE:
    ``{"generator": "<source>:<model>" or "pasted", "model": model or None, "source": "hub" / "openai" /
    "paste", "cached": bool, "text": the parsed text}``.

    Returns ``GeneratedCases(text, generated_by, cases)``: ``cases`` as :func:`parse_generated_cases` gives them
    (``expected_n=n``, ``reference_texts`` flags copies), with its warning. Raises ``ValueError`` for an unknown
    generator spec, and when nothing was generated and nothing pasted.
    """
    generation = generate_text(prompt, generator, n=n, seed=seed, cache_dir=cache_dir, env=env, timeout_s=timeout_s)
    if generation.ok:
        text, by = generation.text, f"{generation.source}:{generation.model}"
        reused = "; reused from the cache, pass another seed for new tweets" if generation.cached else ""
        plain = (f"Generated by {generation.model} ({generation.source}) for GENERATOR={generator!r}{reused}. "
                 f"Check every label below:\n{text}")
    else:
        if not isinstance(pasted, str) or not pasted.strip():
            raise ValueError(f"{generation.message} Nothing is pasted either: paste the LLM's answer into "
                             "GENERATED_CASES_TEXT and pass it as pasted=GENERATED_CASES_TEXT.")
        if generator is not None:
            print(f"{generation.message}\nParsing the pasted GENERATED_CASES_TEXT instead.")
        text, by = pasted, "pasted"
        plain = f"Parsed the pasted GENERATED_CASES_TEXT ({len(pasted.strip().splitlines())} lines)."
    _display_record({"generator": by, "model": generation.model if generation.ok else None,
                     "source": generation.source, "cached": generation.cached, "text": text}, plain)
    cases, problems = _parse(text, n, reference_texts)
    _warn_problems(problems, cases["issues"], stacklevel=2)
    cases.attrs["generated_by"] = by
    return GeneratedCases(text, by, cases)


# --- Reviewing the labels -------------------------------------------------------------------------------

def _numbered(cases: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``cases`` indexed by case number: its own index when named ``case``, else 1, 2, ..."""
    out = cases.copy()
    if out.index.name != "case" or not out.index.is_unique:
        out.index = pd.RangeIndex(1, len(out) + 1, name="case")
    return out


def _llm_labels(frame: pd.DataFrame) -> pd.Series:
    """The LLM's labels: ``llm_label`` of reviewed cases, else ``expected_label`` (normalised)."""
    return normalise_labels(frame["llm_label" if "llm_label" in frame else "expected_label"])


def _in_slice(frame: pd.DataFrame, slices, slice_name: str | None, who: str):
    """Whether each row (with slice metadata) satisfies the slice; <NA> without a slice or when the predicate
    needs columns the rows lack (with a warning)."""
    unknown = pd.array([pd.NA] * len(frame), dtype="boolean")
    if slice_name is None:
        return unknown
    predicate = _slice_predicate(slices, slice_name)
    try:
        return pd.array(slice_masks(frame, {slice_name: predicate})[slice_name].to_numpy(), dtype="boolean")
    except ValueError as err:
        warnings.warn(f"{who}: in_slice left <NA>: {err}", UserWarning, stacklevel=3)
        return unknown


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


# --- Scoring --------------------------------------------------------------------------------------------

def score_generated_cases(cases: pd.DataFrame, models: Mapping[str, SentimentModel], *,
                          df_eval: pd.DataFrame | None = None, slices: Mapping[str, Callable] | None = None,
                          slice_name: str | None = None, cache_dir: str | os.PathLike | None = CACHE_DIR,
                          hub_models: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run both models on the generated cases and compare their failure rate with the real slice (Step 7).

    Pass the reviewed cases (:func:`apply_label_fixes`): failure rates are computed on ``expected_label``.
    Returns ``(scored, summary)``.

    ``scored`` (indexed by ``case``): the cases' columns, the slice metadata of :func:`add_slice_metadata`,
    ``baseline_pred``, ``baseline_conf``, ``candidate_pred``, ``candidate_conf`` (<NA>/NaN for a model that cannot
    run on new tweets, see :func:`models_for_new_texts`), ``agree`` (same prediction), ``baseline_fails`` /
    ``candidate_fails`` (pred != expected_label; <NA> without a label), ``regression`` (candidate fails where
    the baseline is right; <NA> without a label) and ``in_slice`` (the slice's predicate holds for the
    generated tweet; <NA> without ``slice_name`` or when the predicate needs columns the cases lack).

    ``summary``: one row per model. ``n_cases`` labelled cases; ``labels_changed`` labels the student changed
    in review (NaN when the cases were not reviewed); ``failures``; ``failure_rate`` = failures / n_cases in
    [0, 1], lower is better, with 95% Wilson interval ``lo`` / ``hi``; ``slice_n`` tweets of the slice in
    ``df_eval`` (all of df_eval without ``slice_name``; NaN without df_eval), ``slice_error_rate`` (share the
    model gets wrong there) with ``slice_lo`` / ``slice_hi``; ``regressions`` = labelled cases this model gets
    wrong and the other model right (for the candidate: its regressions; for the baseline: the candidate's
    fixes) and ``regression_rate`` = regressions / n_cases. Compare the candidate's regression_rate with the
    slice's (Step 5's regression_metrics, also in ``summary.attrs``) to see whether the generated tweets repeat
    the slice's regressions. NaN = nothing to count (no labelled case, no df_eval, a model that cannot run on
    new tweets); zero labelled cases give a warning, not an error.
    """
    _require_table(cases, ["text", "expected_label"], "score_generated_cases", "cases from lab.parse_generated_cases")
    _require_models(models)
    predicate = _slice_predicate(slices, slice_name) if slice_name is not None else None
    frame = _numbered(cases)
    expected = normalise_labels(frame["expected_label"])
    scored = add_slice_metadata(frame.reset_index(drop=True).assign(expected_label=expected.to_numpy()))
    scored.index = frame.index
    runnable = models_for_new_texts(models, hub_models=hub_models)
    _prediction_columns(scored, _predict_new(runnable, scored["text"], cache_dir))
    scored["agree"] = (scored["baseline_pred"] == scored["candidate_pred"]).astype("boolean")
    for role in _MODELS:
        scored[f"{role}_fails"] = (scored[f"{role}_pred"] != expected).astype("boolean")
    scored["regression"] = scored["candidate_fails"] & ~scored["baseline_fails"]
    scored["in_slice"] = _in_slice(scored.reset_index(drop=True), slices, slice_name, "score_generated_cases")
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
    changed = int(frame["label_changed"].astype(bool).sum()) if "label_changed" in frame else np.nan
    fails = {m: None if runnable[m] is None else scored.loc[labelled, f"{m}_fails"].astype(bool).to_numpy()
             for m in _MODELS}
    rows = []
    for role, other in zip(_MODELS, _MODELS[::-1]):
        if in_eval is None:
            on_slice = (np.nan,) * 4
        else:
            slice_k = int((~in_eval[f"{role}_correct"].astype(bool)).sum())
            on_slice = (len(in_eval), *_proportion(slice_k, len(in_eval)))
        if fails[role] is None:
            rows.append((role, n, changed, np.nan, np.nan, np.nan, np.nan, *on_slice, np.nan, np.nan))
            continue
        k = int(fails[role].sum())
        alone = np.nan if fails[other] is None else int((fails[role] & ~fails[other]).sum())
        rows.append((role, n, changed, k, *_proportion(k, n), *on_slice, alone, alone / n if n else np.nan))
    summary = pd.DataFrame(rows, columns=_SYNTHETIC_SUMMARY_COLUMNS)
    if in_eval is not None and "regressed" in in_eval:
        slice_regressions = int(in_eval["regressed"].astype(bool).sum())
        summary.attrs.update(slice=slice_name or "all", slice_regressions=slice_regressions,
                             slice_regression_rate=slice_regressions / len(in_eval) if len(in_eval) else np.nan)
    return scored, summary
