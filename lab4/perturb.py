"""Step 7: CheckList-style perturbation tests (INV, DIR, MFT) of a slice's real tweets.
"""

from __future__ import annotations

import os
import re
from typing import Callable
from typing import Mapping

import numpy as np
import pandas as pd

from .cache import PredictionCache
from .config import CACHE_DIR, _MODELS
from .models import SentimentModel
from .runtime import SEED
from .slicing import _HASHTAG, _MENTION, _URL, _describe
from .stats import _proportion
from .stress import _require_models, _slice_predicate, _slice_rows
from .validate import _require_table


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

_PERTURBATION_COLUMNS = ["test", "kind", "model", "n", "failures", "failure_rate", "lo", "hi", "example"]

_PERTURBATION_EXAMPLE_COLUMNS = ["test", "kind", "model", "expected", "original", "perturbed", "pred_before",
                                 "pred_after", "conf_before", "conf_after"]

_NEGATABLE = re.compile(
    r"(?i)\b(?P<aux>is|are|was|were|am|will|can|could|would|should|do|does|did)\b(?!\s+not\b)(?=\s+[^\s.,!?;:])"
    r"|\b(?P<contr>(?:i|you|we|they|it|that|he|she|there)['’](?:m|re|s))\b(?!\s+not\b)"
    r"|\b(?P<subj>i|we|you|they)\s+(?P<verb>love|like|hate|want|need|enjoy|miss|think|care)\b")


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
