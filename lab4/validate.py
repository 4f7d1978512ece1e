"""One checker for DataFrame arguments and its error type: it names what was expected, what was found
and what to do, suggesting only options the calling function really takes.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Mapping

import pandas as pd


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


def _require_columns(frame: pd.DataFrame, *columns: str, options: Mapping[str, str] | None = None,
                     rerun: str | None = None) -> None:
    """Raise a clear error naming a missing column, what was found and how to fix it.

    ``options`` maps a column to the keyword argument of the *calling* function that picks another
    column for it (``{"text": "text_column"}``); only such real options are ever suggested. ``rerun``
    says which notebook cells rebuild the table, for tables the lab itself builds.

    >>> _require_columns(pd.DataFrame({"Tweet": ["hi"]}), "text")
    Traceback (most recent call last):
    ...
    lab4.validate.MissingColumnError: missing column 'text'; found ['Tweet']; rename 'Tweet' to 'text'
    """
    options = options or {}
    for name in columns:
        if name in frame.columns:
            continue
        found = [str(c) for c in frame.columns]
        close = _close_names(name, found)
        option = options.get(name)
        if close:
            hint = f"rename {close[0]!r} to {name!r}" + (f" or pass {option}={close[0]!r}" if option else "")
        else:
            hint = f"rename the column holding it to {name!r}" + (f" or pass {option}=<its name>" if option else "")
        if rerun:
            hint = f"{rerun} ({hint})"
        raise MissingColumnError(f"missing column {name!r}; found {found}; {hint}")


# Where a table came from travels with it in ``DataFrame.attrs`` under this key: the fingerprint of the tweets
# it was built from, their count and columns. No hidden globals: a later step compares what it is given.
PROVENANCE = "lab4_tweets"


class StaleInputError(ValueError):
    """A table was built from other tweets than the ones now in the notebook: re-run the named steps."""


def tweets_fingerprint(tweets: pd.DataFrame) -> str:
    """A short hash of which tweets these are (ids, texts, labels), not of their metadata columns.

    >>> a = pd.DataFrame({"tweet_id": [0, 1], "text": ["hi", "yo"], "label": ["neutral", "positive"]})
    >>> tweets_fingerprint(a) == tweets_fingerprint(a.assign(n_chars=[2, 2])), tweets_fingerprint(a.head(1)) == tweets_fingerprint(a)
    (True, False)
    """
    digest = hashlib.sha1(str(len(tweets)).encode())
    for column in ("tweet_id", "text", "label"):
        if column in tweets.columns:
            digest.update(pd.util.hash_pandas_object(tweets[column].astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def provenance(tweets: pd.DataFrame) -> dict:
    """The record a step stores in its output's ``attrs[PROVENANCE]``."""
    return {"fingerprint": tweets_fingerprint(tweets), "n": len(tweets), "columns": [str(c) for c in tweets.columns]}


def require_fresh(table: pd.DataFrame, tweets: pd.DataFrame, *, table_name: str, rerun: str) -> None:
    """Raise :class:`StaleInputError` when ``table`` was built from other tweets than ``tweets``.

    Tables without a record (built by hand, or by an older lab) pass: there is nothing to compare.
    """
    record = table.attrs.get(PROVENANCE)
    if not record:
        return
    if record["fingerprint"] != tweets_fingerprint(tweets):
        raise StaleInputError(
            f"{table_name} was built from {record['n']:,} tweets, but `tweets` now holds {len(tweets):,} other "
            f"ones (was Step 2 re-run, e.g. with another MAX_TWEETS?); {rerun}.")
    added = [c for c in map(str, tweets.columns) if c not in record["columns"]]
    if added:
        print(f"Note: `tweets` has column(s) {added} that {table_name} lacks (added after it was built); "
              f"{rerun} to use them in slices.")
