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

from .config import LABELS, ROOT
from . import runtime
from .runtime import NETWORK_TIMEOUT_S, SEED
from .validate import _require_columns


BUNDLED_CSV = ROOT / "tweets.csv"  # written for this project; see the README's data card

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


def _load_hf_tweet_eval(split: str) -> pd.DataFrame:
    from datasets import load_dataset

    name, config = HF_DATASET
    data = load_dataset(name, config, split=split)
    frame = data.to_pandas()
    frame["label"] = frame["label"].map(dict(enumerate(LABELS)))
    frame["split"] = split
    return frame[["text", "label", "split"]]


def load_tweets(
    path: str | os.PathLike | None = None,
    *,
    use_hf_dataset: bool = False,
    split: str | None = "test",
    max_tweets: int | None = None,
    text_column: str = "text",
    label_column: str = "label",
    seed: int = SEED,
    verbose: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load, clean and account for the tweets to evaluate (Step 2).

    Source, in order: TweetEval from the Hugging Face hub when ``use_hf_dataset`` and the hub answers;
    else the CSV at ``path``; else the bundled ``tweets.csv``. A CSV needs a text and a label column
    (other columns are kept and flow through; a ``split`` column selects ``split`` rows).

    Returns ``(tweets, dropped)``:

    - ``tweets``: columns ``tweet_id`` (the row's 0-based position in the source), ``text``, ``label``
      (negative / neutral / positive), ``split`` when present, then any extra source columns.
    - ``dropped``: one row per source row that is not evaluated, columns ``tweet_id``, ``reason``,
      ``text``. Reasons: empty text, missing label, exact duplicate (same text and label), duplicate text
      with another label, another split, not sampled (``max_tweets``).

    Every source row lands in exactly one of the two: ``len(tweets) + len(dropped)`` is the row count.
    HTML entities (``&amp;``) are decoded; everything else in the text is kept as written.
    """
    notes: list[str] = []
    frame = None
    if use_hf_dataset:
        if runtime.hub_reachable():
            try:
                frame = _load_hf_tweet_eval(split or "test")
                source = f"hf:{HF_DATASET[0]}/{HF_DATASET[1]}:{split or 'test'}"
            except Exception as err:  # any hub/datasets failure falls back to the CSV
                notes.append(f"could not load {HF_DATASET[0]} ({type(err).__name__}: {err}); using the CSV.")
        else:
            notes.append(f"the Hugging Face hub is not reachable within {NETWORK_TIMEOUT_S:.0f} s; using the CSV.")
    if frame is None:
        csv_path = Path(path) if path else BUNDLED_CSV
        if not csv_path.is_file():
            raise FileNotFoundError(
                f"no CSV at {str(csv_path)!r}; expected a file with 'text' and 'label' columns. "
                "Check DATA_PATH, or set it to None for the bundled tweets.csv."
            )
        frame, read_notes = _read_csv_robustly(csv_path)
        notes += read_notes
        source = str(csv_path)
    _require_columns(frame, text_column, label_column,
                     options={text_column: "text_column", label_column: "label_column"})
    frame = frame.rename(columns={text_column: "text", label_column: "label"}).reset_index(drop=True)
    n_source = len(frame)
    frame.insert(0, "tweet_id", np.arange(n_source))
    frame["text"] = frame["text"].astype("string").fillna("").map(html.unescape).astype("string")
    frame["label"] = normalise_labels(frame["label"])

    reason = pd.Series(pd.NA, index=frame.index, dtype="string")

    def mark(mask: pd.Series, why) -> None:
        nonlocal reason
        mask = mask.fillna(False) & reason.isna()
        reason = reason.mask(mask, why if isinstance(why, str) else why[mask])

    mark(frame["text"].str.strip() == "", "empty text")
    mark(frame["label"].isna(), "missing label")
    if split is not None and "split" in frame.columns:
        frame["split"] = frame["split"].astype("string").str.strip().str.lower()
        other = frame["split"] != split
        mark(other, "split " + frame["split"].fillna("?") + " (not evaluated)")
    for keys, why in ((["text", "label"], "exact duplicate of tweet_id {}"),
                      (["text"], "same text as tweet_id {} with another label")):
        live = reason.isna()
        first = frame[live].groupby(keys, sort=False)["tweet_id"].transform("first").reindex(frame.index)
        repeat = live & first.notna() & (first != frame["tweet_id"])
        mark(repeat, first[repeat].astype(int).map(why.format).reindex(frame.index))
    live = reason.isna()
    if max_tweets is not None:
        if int(max_tweets) <= 0:
            raise ValueError(f"max_tweets={max_tweets} leaves nothing to evaluate; use None for all rows or a positive number.")
        if live.sum() > max_tweets:
            keep = frame[live].sample(n=int(max_tweets), random_state=seed).index
            mark(live & ~frame.index.isin(keep), f"not sampled (max_tweets={max_tweets})")
        elif verbose and live.sum() < max_tweets:
            notes.append(f"max_tweets={max_tweets} is more than the {int(live.sum())} usable rows; using them all.")
    dropped = pd.DataFrame({"tweet_id": frame["tweet_id"], "reason": reason, "text": frame["text"]})[reason.notna()]
    tweets = frame[reason.isna()].reset_index(drop=True)
    tweets["label"] = tweets["label"].astype(str)
    tweets["text"] = tweets["text"].astype(str)
    tweets.attrs["source"] = source
    dropped = dropped.reset_index(drop=True)
    assert len(tweets) + len(dropped) == n_source  # row accounting: nothing is silently lost
    if verbose:
        for note in notes:
            print("Note:", note)
        print(f"Data: {source} — {n_source:,} rows: {len(tweets):,} to evaluate, {len(dropped):,} not evaluated.")
        if len(dropped):
            print(row_accounting(tweets, dropped).to_string(index=False))
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
