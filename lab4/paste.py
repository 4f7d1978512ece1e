"""Step 7: reading an LLM's answer (pasted or generated) into cases: numbered lists, ``text | label``
lines, JSON, CSV and markdown tables, with a warning for every line it could not use.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import warnings
from typing import Iterable

import pandas as pd

from .data import normalise_labels
from .slicing import _MENTION, _URL

N_GENERATED_CASES = 10  # tweets asked of the LLM: enough to see a pattern, few enough to read and check by hand
MAX_TWEET_CHARS = 280  # Twitter's limit; a longer "tweet" is unlike anything the models were tested on


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
