"""Step 2: reading tweets (a CSV, the bundled ``tweets.csv`` or ``cardiffnlp/tweet_eval``), label
normalisation, and the row accounting that lists every dropped row with its reason.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .config import ROOT
from . import runtime
from .runtime import NETWORK_TIMEOUT_S, SEED
from .validate import _require_columns


BUNDLED_CSV = ROOT / "tweets.csv"  # written for this project; see docs/data-card.md

HF_DATASET = ("cardiffnlp/tweet_eval", "sentiment")  # the online data set (config name second)

CORE_COLUMNS = ("tweet_id", "text", "label", "split")

_LABEL_WORDS = {
    "negative": "negative", "neg": "negative", "-": "negative",
    "neutral": "neutral", "neu": "neutral", "none": "neutral", "objective": "neutral",
    "positive": "positive", "pos": "positive", "+": "positive",
}

_NUMERIC_SCHEMES = {
    "0/1/2": {"0": "negative", "1": "neutral", "2": "positive"},  # TweetEval's ids
    "-1/0/1": {"-1": "negative", "0": "neutral", "1": "positive"},
}


def _read_csv_robustly(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV that may carry a BOM, be semicolon/tab separated or not be UTF-8.

    Returns the frame (all columns as strings, nothing converted) and notes on what was assumed.
    """

    notes: list[str] = []
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        content = raw.decode("cp1252", errors="replace")
        notes.append(
            f"{path.name} is not UTF-8 (byte {err.start}); read it as Windows-1252 instead. "
            "Check accented characters and emoji, or re-save the file as UTF-8."
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        notes.append(f"{path.name} starts with a UTF-8 byte-order mark; it was ignored.")
    if not content.strip():
        raise ValueError(f"{path} is empty; expected a CSV with a header row and 'text' and 'label' columns.")
    try:
        sep = csv.Sniffer().sniff(content[:65536].split("\n", 1)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    if sep != ",":
        notes.append(f"{path.name} is separated by {sep!r}, not commas; read it that way.")
    frame = pd.read_csv(io.StringIO(content), sep=sep, dtype=str, keep_default_na=False)
    return frame, notes


def normalise_labels(labels: pd.Series) -> pd.Series:
    """Map label spellings onto negative / neutral / positive.

    Accepts the words in any case with surrounding spaces (``"Positive"``, ``" neg "``), TweetEval's ids
    0/1/2, or -1/0/1 (chosen when -1 occurs). Missing labels stay missing (``<NA>``). Unknown values raise
    a ``ValueError`` that lists them with their counts.

    >>> normalise_labels(pd.Series(["Positive", "neg", "NEUTRAL"])).tolist()
    ['positive', 'negative', 'neutral']
    >>> normalise_labels(pd.Series([0, 2, 1])).tolist()
    ['negative', 'positive', 'neutral']
    """
    text = labels.astype("string").str.strip().str.lower()
    text = text.mask(text == "")
    text = text.str.replace(r"^([+-]?\d+)\.0+$", r"\1", regex=True)  # "1.0" from a float column
    present = set(text.dropna().unique())
    numeric = {v for v in present if re.fullmatch(r"[+-]?\d+", v)}
    scheme = "-1/0/1" if "-1" in numeric else "0/1/2"
    if numeric and numeric <= {"0", "1"} and not (present - numeric):
        raise ValueError(
            "labels are only 0 and 1, which is ambiguous (negative/neutral or negative/positive?); "
            "map them to 'negative', 'neutral', 'positive' yourself before loading."
        )
    mapping = {**_LABEL_WORDS, **_NUMERIC_SCHEMES[scheme]}
    mapped = text.map(mapping)
    unknown = text[text.notna() & mapped.isna()]
    if len(unknown):
        counts = labels[unknown.index].value_counts().head(10).to_dict()
        raise ValueError(
            f"unknown label values {counts} (value: count); expected negative/neutral/positive, "
            "their short forms neg/neu/pos, 0/1/2 or -1/0/1; fix or drop those rows."
        )
    return mapped.astype("string")


DATA_SOURCES = ("auto", "hub", "bundled")

_HUB_SPLITS = ("train", "validation", "test")


def _tweet_eval_frame(data, split: str) -> pd.DataFrame:
    """A ``datasets.Dataset`` of tweet_eval as a frame: text, label (its ClassLabel *names*), split."""
    frame = data.to_pandas()
    feature = data.features.get("label")
    if hasattr(feature, "int2str"):  # ClassLabel: ids to the data set's own names, never assumed
        frame["label"] = [feature.int2str(int(v)) if pd.notna(v) else None for v in frame["label"]]
    frame["split"] = split
    return frame[["text", "label", "split"]]


def _hub_splits(split: str | None) -> list[str]:
    splits = list(_HUB_SPLITS) if split is None else ["test" if split == "auto" else str(split).strip().lower()]
    if any(s not in _HUB_SPLITS for s in splits):
        raise ValueError(f"split={split!r}: {HF_DATASET[0]} has the splits {list(_HUB_SPLITS)}; set SPLIT (split=) to "
                         "one of them, 'auto' (test) or None (all three).")
    return splits


def _read_hub(splits: list[str], load_dataset) -> tuple[pd.DataFrame, str]:
    """Download tweet_eval (sentiment) through ``datasets`` (or the given ``load_dataset``)."""
    if load_dataset is None:
        from datasets import load_dataset
    name, config = HF_DATASET
    frames = [_tweet_eval_frame(load_dataset(name, config, split=s), s) for s in splits]
    return pd.concat(frames, ignore_index=True), f"hf:{name}/{config}:{'+'.join(splits)}"


def _read_source(path, source: str, split: str | None, *, hub_url: str | None, load_dataset,
                 notes: list[str]) -> tuple[pd.DataFrame, str]:
    """Step 2a, read: the raw rows of the chosen source, every value as written, and the source's name.

    A ``path`` always means that CSV. Without one: "hub" reads tweet_eval (an error when the hub does not
    answer), "bundled" the bundled tweets.csv, and "auto" the hub when it answers, else tweets.csv.
    """
    if source not in DATA_SOURCES:
        raise ValueError(f"source={source!r}; expected one of {DATA_SOURCES} (DATA_SOURCE in the notebook).")
    if path is not None and source != "auto":
        raise ValueError(f"both a CSV (DATA_PATH={str(path)!r}) and DATA_SOURCE={source!r} are set; set DATA_PATH = None "
                         f"to use the {source} data, or DATA_SOURCE = 'auto' to use the CSV.")
    if path is None and source in ("auto", "hub"):
        url = hub_url or runtime.default_hub_url()
        if runtime.hub_reachable(url=url):
            splits = _hub_splits(split)
            try:
                return _read_hub(splits, load_dataset)
            except Exception as err:  # noqa: BLE001 -- any hub/datasets failure: say it, then fall back or stop
                first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
                if source == "hub":
                    raise ConnectionError(f"could not load {HF_DATASET[0]} from the hub ({type(err).__name__}: {first}); "
                                          "use DATA_SOURCE = 'bundled' (or 'auto').") from None
                notes.append(f"could not load {HF_DATASET[0]} ({type(err).__name__}: {first}); using the bundled tweets.csv.")
        else:
            why = ("HF_HUB_OFFLINE is set" if runtime.hub_switched_off()
                   else f"the Hugging Face hub ({url}) is not reachable (no answer within {NETWORK_TIMEOUT_S:.0f} s)")
            if source == "hub":
                raise ConnectionError(f"DATA_SOURCE='hub' but {why}; use DATA_SOURCE = 'bundled' (or 'auto').")
            notes.append(f"DATA_SOURCE='auto': {why}, so the bundled tweets.csv is used (real tweets need the hub).")
    csv_path = Path(path) if path is not None else BUNDLED_CSV
    if not csv_path.is_file():
        raise FileNotFoundError(
            f"no CSV at {str(csv_path)!r}; expected a file with 'text' and 'label' columns. "
            "Check DATA_PATH, or set it to None for the bundled tweets.csv."
        )
    frame, read_notes = _read_csv_robustly(csv_path)
    notes += read_notes
    if frame.empty:
        raise ValueError(f"{csv_path} has a header ({list(frame.columns)}) but no rows: nothing to evaluate. "
                         "Add one tweet per row, or set DATA_PATH = None for the bundled tweets.csv.")
    return frame, str(csv_path)


def _match_columns(frame: pd.DataFrame, wanted: dict[str, str], notes: list[str]) -> pd.DataFrame:
    """Find each wanted column ignoring case and surrounding spaces (``Text`` for ``text``), with a note."""
    renames = {}
    for name in wanted:
        if name in frame.columns:
            continue
        same = [c for c in frame.columns if str(c).strip().lower() == name.strip().lower()]
        if len(same) == 1:
            renames[same[0]] = name
    if renames:
        frame = frame.rename(columns=renames)
        pairs = ", ".join(f"{old!r} as {new!r}" for old, new in renames.items())
        notes.append(f"read column(s) {pairs} (names matched ignoring case and spaces).")
    return frame


def _normalise(frame: pd.DataFrame, text_column: str, label_column: str, notes: list[str]) -> pd.DataFrame:
    """Step 2b, normalise: columns text/label (and split) found, ``tweet_id`` added, entities decoded, labels mapped."""
    frame = _match_columns(frame, {text_column: "text", label_column: "label", "split": "split"}, notes)
    _require_columns(frame, text_column, label_column,
                     options={text_column: "text_column", label_column: "label_column"})
    frame = frame.rename(columns={text_column: "text", label_column: "label"}).reset_index(drop=True)
    frame.insert(0, "tweet_id", np.arange(len(frame)))
    frame["text"] = frame["text"].astype("string").fillna("").map(html.unescape).astype("string")
    frame["label"] = normalise_labels(frame["label"])
    if "split" in frame.columns:
        frame["split"] = frame["split"].astype("string").str.strip().str.lower()
    return frame


def _choose_split(frame: pd.DataFrame, split: str | None, notes: list[str]) -> str | None:
    """Which ``split`` value to evaluate: ``None`` means every row. Explains what it found."""
    if split is None:
        return None
    if "split" not in frame.columns:
        if split != "auto":
            notes.append(f"split={split!r} but the data has no 'split' column; evaluating every row.")
        return None
    counts = frame["split"].fillna("?").value_counts()
    found = ", ".join(f"{k} ({v:,})" for k, v in counts.items())
    wanted = "test" if split == "auto" else str(split).strip().lower()
    if wanted in counts.index:
        return wanted
    if split == "auto":
        notes.append(f"no rows with split 'test' (splits found: {found}); evaluating every row. "
                     f"Set SPLIT (split=) to one of them to evaluate only that split.")
        return None
    raise ValueError(f"no rows with split {split!r}; the 'split' column holds {found}. Set SPLIT (split=) to "
                     "one of those, 'auto' (test when present, else every row) or None (every row).")


def _account(frame: pd.DataFrame, split: str | None, notes: list[str]) -> pd.Series:
    """Step 2c, account for rows: the reason each row is not evaluated (``<NA>`` for rows that are).

    Reasons, first one wins: empty text, missing label, another split, exact duplicate (same text and
    label), same text with another label.
    """
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")

    def mark(mask: pd.Series, why) -> None:
        nonlocal reason
        mask = mask.fillna(False) & reason.isna()
        reason = reason.mask(mask, why if isinstance(why, str) else why[mask])

    mark(frame["text"].str.strip() == "", "empty text")
    mark(frame["label"].isna(), "missing label")
    chosen = _choose_split(frame, split, notes)
    if chosen is not None:
        mark(frame["split"] != chosen, "split " + frame["split"].fillna("?") + " (not evaluated)")
    for keys, why in ((["text", "label"], "exact duplicate of tweet_id {}"),
                      (["text"], "same text as tweet_id {} with another label")):
        live = reason.isna()
        first = frame[live].groupby(keys, sort=False)["tweet_id"].transform("first").reindex(frame.index)
        repeat = live & first.notna() & (first != frame["tweet_id"])
        mark(repeat, first[repeat].astype(int).map(why.format).reindex(frame.index))
    return reason


def _sample(frame: pd.DataFrame, reason: pd.Series, max_tweets: int | None, seed: int,
            notes: list[str]) -> pd.Series:
    """Step 2d, sample: keep a seeded random ``max_tweets`` of the usable rows; the rest get a reason."""
    if max_tweets is None:
        return reason
    if int(max_tweets) <= 0:
        raise ValueError(f"max_tweets={max_tweets} leaves nothing to evaluate; use None for all rows or a positive number.")
    live = reason.isna()
    if live.sum() > max_tweets:
        keep = frame[live].sample(n=int(max_tweets), random_state=seed).index
        reason = reason.mask(live & ~frame.index.isin(keep), f"not sampled (max_tweets={max_tweets})")
    elif live.sum() < max_tweets:
        notes.append(f"max_tweets={max_tweets} is more than the {int(live.sum())} usable rows; using them all.")
    return reason


def load_tweets(
    path: str | os.PathLike | None = None,
    *,
    source: str = "auto",
    split: str | None = "auto",
    max_tweets: int | None = None,
    text_column: str = "text",
    label_column: str = "label",
    seed: int = SEED,
    verbose: bool = True,
    hub_url: str | None = None,
    load_dataset=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load, clean and account for the tweets to evaluate (Step 2).

    Where from: the CSV at ``path`` when given; else by ``source``: "auto" (default) real tweets from
    ``cardiffnlp/tweet_eval`` (sentiment) through ``datasets`` when the hub answers within a few
    seconds, else the bundled ``tweets.csv``; "hub" tweet_eval or an error; "bundled" tweets.csv. The
    source is printed and kept in ``tweets.attrs["source"]``. A CSV needs a text and a label column
    (names matched ignoring case; other columns are kept and flow through).
    ``split``: which value of a ``split`` column to evaluate: "auto" = ``test`` when some rows have it,
    else every row (with a note); a name = only those rows (an error listing the splits when there are
    none); None = every row. For the hub it is the tweet_eval split ("auto" = test, None = all three).
    ``hub_url``: where the reachability check asks (default the hub); ``load_dataset``: the loader
    (default ``datasets.load_dataset``), replaceable in tests.

    Returns ``(tweets, dropped)``:

    - ``tweets``: columns ``tweet_id`` (the row's 0-based position in the source), ``text``, ``label``
      (negative / neutral / positive), ``split`` when present, then any extra source columns.
    - ``dropped``: one row per source row that is not evaluated, columns ``tweet_id``, ``reason``,
      ``text``. Reasons: empty text, missing label, exact duplicate (same text and label), duplicate text
      with another label, another split, not sampled (``max_tweets``).

    Every source row lands in exactly one of the two: ``len(tweets) + len(dropped)`` is the row count.
    Nothing to evaluate (a header-only file, every row dropped) is an error that says why.
    HTML entities (``&amp;``) are decoded; everything else in the text is kept as written.
    """
    notes: list[str] = []
    frame, source_name = _read_source(path, source, split, hub_url=hub_url, load_dataset=load_dataset, notes=notes)
    frame = _normalise(frame, text_column, label_column, notes)
    reason = _account(frame, None if source_name.startswith("hf:") else split, notes)
    if reason.notna().all():
        counts = reason.str.replace(r"\d+", "N", regex=True).value_counts().to_dict()
        raise ValueError(f"nothing to evaluate: all {len(frame):,} rows of {source_name} were dropped {counts}; "
                         "fix those rows, or choose another SPLIT / DATA_PATH.")
    reason = _sample(frame, reason, max_tweets, seed, notes)
    dropped = pd.DataFrame({"tweet_id": frame["tweet_id"], "reason": reason, "text": frame["text"]})[reason.notna()]
    tweets = frame[reason.isna()].reset_index(drop=True)
    tweets["label"] = tweets["label"].astype(str)
    tweets["text"] = tweets["text"].astype(str)
    tweets.attrs["source"] = source_name
    dropped = dropped.reset_index(drop=True)
    assert len(tweets) + len(dropped) == len(frame)  # row accounting: nothing is silently lost
    if verbose:
        for note in notes:
            print("Note:", note)
        why = " (`dropped` lists each with its reason; `row_accounting` counts them)" if len(dropped) else ""
        print(f"Data: {source_name} — {len(frame):,} rows: {len(tweets):,} to evaluate, "
              f"{len(dropped):,} not evaluated{why}.")
    return tweets, dropped


def row_accounting(tweets: pd.DataFrame, dropped: pd.DataFrame) -> pd.DataFrame:
    """Count source rows by outcome: evaluated, or not evaluated with the reason (numbers in reasons
    are folded so that, e.g., all exact duplicates count together). The ``rows`` column sums to the
    source's row count.

    >>> t = pd.DataFrame({"tweet_id": [0, 1]}); d = pd.DataFrame({"reason": ["empty text"]})
    >>> row_accounting(t, d).to_dict("list")
    {'outcome': ['evaluated', 'empty text'], 'rows': [2, 1]}
    """
    reasons = dropped["reason"].astype(str).str.replace(r"\d+", "N", regex=True) if len(dropped) else pd.Series([], dtype=str)
    counts = reasons.value_counts(sort=True)
    table = pd.DataFrame({"outcome": ["evaluated", *counts.index], "rows": [len(tweets), *counts.to_numpy()]})
    table["rows"] = table["rows"].astype(int)
    return table


def _bundled_train() -> pd.DataFrame:
    train, _ = load_tweets(BUNDLED_CSV, split="train", verbose=False)
    return train
