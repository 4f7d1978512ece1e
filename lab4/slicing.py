"""Step 3: metadata columns (one hypothesis each), the slice registry and the shipped slices.
"""

from __future__ import annotations

import re
import warnings
from typing import Callable
from typing import Mapping

import numpy as np
import pandas as pd

from .config import _OUTCOME_COLUMNS
from .data import CORE_COLUMNS
from .validate import MissingColumnError, _close_names, _require_columns


SHORT_CHARS = 50  # length buckets: short < 50 characters <= medium < 120 <= long

LONG_CHARS = 120

EMOJI_DENSE = 0.2  # emoji_dense: at least this share of tokens are emoji, or 3+ emoji

EXAMPLE_PREFIX = "example_"  # notebook slices named so are shipped examples, not the student's own

_URL = r"https?://\S+|www\.\S+"

_MENTION = r"@\w+"

_HASHTAG = r"#\w+"

_NEGATION = (r"(?i)\b(?:not|no|never|nothing|nobody|none|nowhere|neither|nor|cannot|dont|cant|wont|"
             r"didnt|isnt|doesnt|aint)\b|n[’']t\b")

_CONTRAST = r"(?i)\b(?:but|though|although|however)\b"

_ELONGATION = r"([A-Za-z])\1{2,}"  # a letter three or more times in a row: "soooo", "yesss"

_ALLCAPS_WORD = r"\b[A-Z]{4,}\b"  # a shouted word of 4+ letters (shorter ones are mostly acronyms)


# The emoji package's data decides what an emoji is (a ZWJ family, a skin-toned hand, a flag and a keycap are
# one each). Exception: a symbol that is plain text unless followed by U+FE0F (the emoji data calls it
# "unqualified"), from the Latin-1, punctuation, letterlike and arrow blocks -- (c), (R), TM, !!, i, <-> -- is
# typography in tweets, not an emoji. Anything followed by U+FE0E (text presentation asked for) is text too.
_TEXT_STYLE_BELOW = 0x2300
_TEXT_PRESENTATION = "\ufe0e"


def _emoji_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each emoji in ``text``, one per emoji a reader sees.

    >>> [ "👨‍👩‍👧 👍🏽 🇫🇷 1️⃣ ❤ ©️"[a:b] for a, b in _emoji_spans("👨‍👩‍👧 👍🏽 🇫🇷 1️⃣ ❤ ©️")]
    ['👨‍👩‍👧', '👍🏽', '🇫🇷', '1️⃣', '❤', '©️']
    >>> _emoji_spans("© 2024 ® ™ 42 ☹︎")
    []
    """
    import emoji

    if text.isascii():  # most tweets: skip the emoji tokenizer
        return []
    spans = []
    for match in emoji.emoji_list(text):
        found, end = match["emoji"], match["match_end"]
        unqualified = emoji.EMOJI_DATA.get(found, {}).get("status") == emoji.STATUS["unqualified"]
        if text[end:end + 1] == _TEXT_PRESENTATION or (
                unqualified and len(found) == 1 and ord(found) < _TEXT_STYLE_BELOW):
            continue
        spans.append((match["match_start"], end))
    return spans


def _without_emoji(text: str) -> str:
    """``text`` with each emoji replaced by a space (so a keycap's digit is not counted as a word)."""
    for start, end in reversed(_emoji_spans(text)):
        text = text[:start] + " " + text[end:]
    return text


def _graphemes(text: str) -> int:
    """Characters as a reader counts them: a family emoji or a flag is one (Unicode grapheme clusters)."""
    import regex

    return len(regex.findall(r"\X", text)) if not text.isascii() else len(text)


def add_slice_metadata(tweets: pd.DataFrame) -> pd.DataFrame:
    """Add the hypothesis-driven metadata columns used for slicing (Step 3). Returns a new frame.

    Columns added (links are removed before counting letters, emoji and shouting):
    ``n_chars`` (characters as a reader counts them: grapheme clusters), ``n_words``, ``length_bucket`` (short < 50 characters <= medium < 120 <= long),
    ``n_hashtags``/``has_hashtag``, ``n_mentions``/``has_mention``, ``n_urls``/``has_url``,
    ``n_emoji``/``has_emoji`` (emoji as the ``emoji`` package's data defines them; a family, a
    skin-toned hand, a flag or a keycap is one; ©, ®, ™ and digits are not), ``emoji_density`` (emoji / (words + emoji), 0 for an empty text),
    ``emoji_dense`` (3+ emoji or density >= 0.2), ``has_negation``, ``has_contrast`` (but, though,
    although, however), ``is_question``, ``has_exclamation``, ``n_allcaps_words``/``has_allcaps``
    (a word of 4+ capitals), ``has_elongation`` (a letter repeated 3+ times).

    Any column you add here yourself becomes available to slices, tables and W&B with no other edit.
    """
    _require_columns(tweets, "text")
    out = tweets.copy()
    text = out["text"].astype(str)
    body = text.str.replace(_URL, " ", regex=True)
    n_emoji = body.map(lambda t: len(_emoji_spans(t))).astype(int)
    n_words = body.map(_without_emoji).str.count(r"[^\W_]+(?:['’][^\W_]+)*")
    out["n_chars"] = text.map(_graphemes).astype(int)
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


def _slice_origin(fn: Callable) -> tuple[str, str]:
    """(module, qualified name) of a predicate: the same for re-runs of the cell that defines it."""
    return getattr(fn, "__module__", "") or "", getattr(fn, "__qualname__", "") or ""


def is_shipped_slice(name: str, fn: Callable) -> bool:
    """Whether ``fn`` is the slice this module ships under ``name``, unchanged (the one definition used by
    :func:`add_slice`'s warning, the self-check and the TA summary).

    >>> is_shipped_slice("has_url", default_slices()["has_url"])
    True
    >>> def has_url(df):
    ...     "My own link slice."
    ...     return df.n_urls > 1
    >>> is_shipped_slice("has_url", has_url), is_shipped_slice("short", default_slices()["has_url"])
    (False, False)
    """
    return _slice_origin(fn) == (__name__, name) and default_slices().get(name) is fn


def add_slice(registry: dict) -> Callable:
    """Decorator that adds a slice predicate to ``registry`` under the function's name.

    The function's docstring is the slice's description. A nameless function (a lambda) is refused:
    it would be registered as ``<lambda>`` and the next one would replace it; set it under a name
    instead (``slices["name"] = lambda df: ...``). Replacing a slice defined elsewhere -- a shipped
    slice, another function or a lambda of that name -- gives a warning; redefining a function of the
    same name in the notebook (re-running or editing its cell) replaces it silently.

    >>> slices = {}
    >>> @add_slice(slices)
    ... def has_tag(df):
    ...     "Tweets with a hashtag."
    ...     return df.has_hashtag
    >>> list(slices)
    ['has_tag']
    """
    def register(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"@add_slice decorates a function (df -> boolean Series); got {type(fn).__name__}.")
        name = getattr(fn, "__name__", "")
        if not name.isidentifier():
            raise TypeError(
                f"@add_slice needs a named function, got {name or type(fn).__name__!r}: a lambda has no name "
                "to register it under. Write\n"
                "    @lab.add_slice(slices)\n"
                "    def negated_question(df):\n"
                '        "Questions that contain a negation."\n'
                "        return df.is_question & df.has_negation\n"
                'or set it under a name: slices["negated_question"] = lambda df: df.is_question & df.has_negation')
        old = registry.get(name)
        if old is not None and _slice_origin(old) != _slice_origin(fn):
            where = ("the shipped slice" if is_shipped_slice(name, old)
                     else f"the slice defined as {_slice_origin(old)[1] or type(old).__name__}")
            described = f" ({_describe(old)})" if _describe(old) else ""
            warnings.warn(f"slice {name!r} replaces {where} {name!r}{described}; rename your function to keep "
                          "both.", UserWarning, stacklevel=2)
        registry[name] = fn
        return fn
    return register


# The shipped example slices, in the form the notebook teaches: a three-line function whose docstring is the
# description tables and plots show. Each reads columns made by add_slice_metadata.

def has_hashtag(df):
    """Tweets with at least one #hashtag."""
    return df.has_hashtag


def has_mention(df):
    """Tweets that mention a user (@user)."""
    return df.has_mention


def has_url(df):
    """Tweets with a link."""
    return df.has_url


def has_emoji(df):
    """Tweets with at least one emoji."""
    return df.has_emoji


def emoji_dense(df):
    """Emoji-heavy tweets: 3+ emoji or 20%+ of tokens."""
    return df.emoji_dense


def has_negation(df):
    """Tweets with a negation (not, never, n't, ...)."""
    return df.has_negation


def has_contrast(df):
    """Tweets with a contrast (but, though, although, however)."""
    return df.has_contrast


def is_question(df):
    """Tweets that ask a question."""
    return df.is_question


def has_allcaps(df):
    """Tweets that shout a word in CAPITALS."""
    return df.has_allcaps


def has_elongation(df):
    """Tweets with an elongated word (soooo, yesss)."""
    return df.has_elongation


def short(df):
    """Short tweets (under 50 characters)."""
    return df.length_bucket == "short"


def long(df):
    """Long tweets (120 characters or more)."""
    return df.length_bucket == "long"


_SHIPPED_SLICES = (has_hashtag, has_mention, has_url, has_emoji, emoji_dense, has_negation, has_contrast, is_question, has_allcaps, has_elongation, short, long)


def default_slices() -> dict[str, Callable]:
    """The shipped example slices, by name (a new dict each call, so students extend their own copy).

    Each is a predicate ``df -> boolean Series`` over the columns of :func:`add_slice_metadata`, whose
    docstring is the description tables and plots use.
    """
    return {fn.__name__: fn for fn in _SHIPPED_SLICES}


def _describe(fn: Callable) -> str:
    """First line of a predicate's docstring, or "" when it has none."""
    doc = (getattr(fn, "__doc__", None) or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


def _missing_name(err: Exception) -> str | None:
    """The column a predicate asked for and did not find (``df.x`` or ``df["x"]``), else None."""
    if isinstance(err, KeyError) and err.args and isinstance(err.args[0], str):
        return err.args[0]
    found = re.search(r"'DataFrame' object has no attribute '([^']+)'", str(err))
    return found.group(1) if isinstance(err, AttributeError) and found else None


def slice_masks(df: pd.DataFrame, slices: Mapping[str, Callable]) -> dict[str, pd.Series]:
    """Evaluate each slice predicate on ``df``: ``{name: boolean Series aligned to df}``.

    A predicate that raises, or returns something that is not one boolean per row, gets an error
    naming the slice and what it returned. Missing values in a mask count as "not in the slice".
    """
    masks = {}
    for name, fn in slices.items():
        try:
            mask = fn(df)
        except (AttributeError, KeyError) as err:
            missing = _missing_name(err)
            if missing is None:
                raise ValueError(f"slice {name!r} failed: {type(err).__name__}: {err}") from err
            close = _close_names(missing, map(str, df.columns))
            raise MissingColumnError(
                f"slice {name!r} uses column {missing!r}, which this table does not have"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + f". If you added {missing!r} to `tweets` after Step 4, re-run Steps 4-5 (lab.run_models, "
                "lab.build_eval_table) so df_eval carries it; otherwise fix the slice "
                "(lab.describe_slices(tweets, slices) lists what each slice matches)."
            ) from err
        except Exception as err:
            raise ValueError(
                f"slice {name!r} failed: {type(err).__name__}: {err}. Its predicate must take the tweets "
                "DataFrame and return a boolean Series (e.g. `return df.has_emoji & df.is_question`)."
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
