"""Step 7: CheckList-style perturbation tests (INV, DIR, MFT) of a slice's real tweets.

Owns the test types (:class:`INV`, :class:`DIR`, :class:`MFT`), the perturbation functions (each ``text,
rng -> new text``, or None when it does not apply), the word lists they draw from, the registry of tests that
are run (``PERTURBATION_TESTS``) and :func:`run_perturbation_tests`.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from typing import Callable
from typing import ClassVar
from typing import Mapping

import numpy as np
import pandas as pd

from .config import CACHE_DIR, _MODELS
from .models import SentimentModel
from .runtime import SEED
from .slicing import _HASHTAG, _MENTION, _URL, _describe
from .stats import _proportion
from .stress import _predict_new, _require_models, _slice_predicate, _slice_rows, models_for_new_texts
from .validate import _require_table


PERTURBATION_SAMPLE = 50  # slice tweets per perturbation test: Wilson interval at most ±14 points, fast on CPU

DIR_TOLERANCE = 0.1  # CheckList's tolerance for directional tests: confidence moves below this are noise

PERTURB_HASHTAGS = ("#news", "#today", "#update", "#thread", "#monday")  # tags with no sentiment of their own

PERTURB_EMOJI = ("📅", "📌", "📷", "📍", "🔁")  # emoji with no sentiment of their own

NEGATIVE_CLAUSES = ("Worst day ever.", "I hate this.", "So disappointed.", "Never again.",
                    "This is awful.")  # plainly negative, and without a negation that could confuse a model

POSITIVE_CLAUSES = ("Best day ever!", "I love it.", "So happy right now.", "Absolutely amazing.",
                    "This made my day.")  # plainly positive, likewise

# Names and places written for this project: people's first names from many cultures, cities and countries
# from every continent. A name or place carries no sentiment, so swapping one for another must not change the
# label (CheckList's INV name/location tests). Only listed words are found, written with a capital letter.
PERSON_NAMES = ("Aisha", "Fatima", "Omar", "Ahmed", "Yusuf", "Priya", "Arjun", "Ananya", "Rahul", "Wei", "Mei",
                "Hana", "Hiroshi", "Yuki", "Min-jun", "Kwame", "Amara", "Chidi", "Zanele", "Sofia", "Mateo",
                "Diego", "Lucia", "Camila", "Olga", "Dmitri", "Ingrid", "Lars", "Emma", "Liam", "Olivia",
                "Noah", "Sarah", "David", "Michael", "Jessica", "James", "Maria", "Tariq", "Aroha")

CITIES = ("London", "Paris", "New York", "Los Angeles", "Chicago", "Toronto", "Mexico City", "Bogota", "Lima",
          "Buenos Aires", "Sao Paulo", "Madrid", "Berlin", "Rome", "Istanbul", "Moscow", "Cairo", "Lagos",
          "Nairobi", "Johannesburg", "Dubai", "Tehran", "Karachi", "Mumbai", "Delhi", "Dhaka", "Jakarta",
          "Manila", "Bangkok", "Beijing", "Shanghai", "Seoul", "Tokyo", "Sydney", "Auckland")

COUNTRIES = ("India", "China", "Japan", "Korea", "Vietnam", "Indonesia", "Pakistan", "Nigeria", "Kenya", "Ghana",
             "Egypt", "Morocco", "Brazil", "Argentina", "Mexico", "Canada", "Peru", "Chile", "France", "Germany",
             "Spain", "Italy", "Ireland", "Scotland", "England", "Poland", "Sweden", "Portugal", "Australia",
             "New Zealand")

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


Prediction = tuple  # (label, confidence): one model's prediction on one text


def _polarity(prediction: Prediction) -> float:
    """A prediction on one axis: +conf for positive, -conf for negative, 0 for neutral (NaN conf counts as 1)."""
    pred, conf = prediction
    sign = {"positive": 1.0, "negative": -1.0}.get(pred, 0.0)
    return sign * (conf if conf == conf else 1.0)


def _same_label(before: Prediction, after: Prediction) -> bool:
    return after[0] == before[0]


def _moves_away(before: Prediction, after: Prediction) -> bool | None:
    start = _polarity(before)
    side = (start > 0) - (start < 0)
    return None if side == 0 else side * (_polarity(after) - start) < -DIR_TOLERANCE


def _not_more_positive(before: Prediction, after: Prediction) -> bool:
    return _polarity(after) <= _polarity(before) + DIR_TOLERANCE


def _not_more_negative(before: Prediction, after: Prediction) -> bool:
    return _polarity(after) >= _polarity(before) - DIR_TOLERANCE


@dataclass(frozen=True)
class INV:
    """Invariance test: ``perturb`` changes something that carries no sentiment (a hashtag, a link, a name,
    a typo), so the predicted label must stay the same. Fails on a tweet when the label changes."""

    name: str
    perturb: Callable[[str, random.Random], str | None]
    expectation: str = "same label"
    kind: ClassVar[str] = "INV"

    def passes(self, before: Prediction, after: Prediction) -> bool | None:
        """True / False, or None when the test does not apply to this prediction."""
        return _same_label(before, after)


@dataclass(frozen=True)
class DIR:
    """Directional test: ``perturb`` should move the prediction in a known direction; ``direction(before,
    after)`` says whether it did (None: not applicable to this prediction, e.g. a neutral one for a test
    that needs a side). Moves of at most DIR_TOLERANCE in confidence are noise."""

    name: str
    perturb: Callable[[str, random.Random], str | None]
    direction: Callable[[Prediction, Prediction], bool | None]
    expectation: str
    kind: ClassVar[str] = "DIR"

    def passes(self, before: Prediction, after: Prediction) -> bool | None:
        return self.direction(before, after)


@dataclass(frozen=True)
class MFT:
    """Minimum functionality test: no perturbation; ``templates`` are (text with ``{thing}``, label a careful
    reader gives it) and the prediction on each filled-in template must be that label."""

    name: str
    templates: tuple[tuple[str, str], ...]
    expectation: str = "the template's label"
    kind: ClassVar[str] = "MFT"

    def passes(self, prediction: Prediction, label: str) -> bool:
        return prediction[0] == label


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


def _word_pattern(words) -> re.Pattern:
    """Any of ``words`` as a whole word, written as listed (capitalised); longest first ("New York" before "York")."""
    return re.compile(r"(?<![\w@#])(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
                      + r")(?![\w-])")


def _swap_words(text: str, pools: tuple, rng) -> str | None:
    """Each listed word found in ``text`` replaced by another one from its own pool, never one the tweet
    already has (the same word gets the same replacement throughout, two words never the same one); None
    when no listed word occurs."""
    rng, found, swaps = _rng(rng), [], {}
    for pool in pools:
        found += [(m.group(), pool) for m in _word_pattern(pool).finditer(text)]
    if not found:
        return None
    taken = {word for word, _ in found}
    for word, pool in found:
        if word not in swaps:
            swaps[word] = rng.choice([w for w in pool if w not in taken])
            taken.add(swaps[word])
    return _changed(text, _word_pattern(list(swaps)).sub(lambda m: swaps[m.group()], text))


def change_name(text: str, rng=None) -> str | None:
    """INV: replace each first name from PERSON_NAMES by another one from the list (None without one).

    >>> import random; change_name("Sarah loved it, right Sarah?", random.Random(0))
    'Olga loved it, right Olga?'
    """
    return _swap_words(text, (PERSON_NAMES,), rng)


def change_place(text: str, rng=None) -> str | None:
    """INV: replace each city from CITIES by another city, each country from COUNTRIES by another country.

    >>> import random; change_place("rainy day in London", random.Random(0)), change_place("at home")
    ('rainy day in Dhaka', None)
    """
    return _swap_words(text, (CITIES, COUNTRIES), rng)


_TOLERANCE = f"no move toward the other side beyond {DIR_TOLERANCE}"

# The tests run_perturbation_tests runs, in its output order (the MFT suite is chosen per slice).
PERTURBATION_TESTS = (
    *(INV(fn.__name__, fn) for fn in (add_hashtag, remove_hashtags, add_mention, remove_mentions, add_url,
                                       remove_urls, add_neutral_emoji, change_case, add_typo, change_name,
                                       change_place)),
    DIR("add_negation", add_negation, _moves_away, f"moves away from its side by more than {DIR_TOLERANCE}"),
    DIR("append_negative_clause", append_negative_clause, _not_more_positive, f"not more positive ({_TOLERANCE})"),
    DIR("append_positive_clause", append_positive_clause, _not_more_negative, f"not more negative ({_TOLERANCE})"),
)


def _applicable_cases(test, pool: list[str], n_per_test: int, seed: int) -> list[tuple[str, str]]:
    """(original, perturbed) for the first ``n_per_test`` tweets of ``pool`` that ``test.perturb`` changes."""
    rng, found = random.Random(seed), []
    for text in pool:
        if len(found) == n_per_test:
            break
        new = test.perturb(text, rng)
        if new is not None:
            found.append((text, new))
    return found


def run_perturbation_tests(df_eval: pd.DataFrame, models: Mapping[str, SentimentModel], *,
                           slices: Mapping[str, Callable] | None = None, slice_name: str | None = None,
                           n_per_test: int = PERTURBATION_SAMPLE, seed: int = SEED,
                           cache_dir: str | os.PathLike | None = CACHE_DIR, tests=PERTURBATION_TESTS,
                           hub_models: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CheckList-style behavioural tests of both models on real tweets of a slice, no LLM needed (Step 7).

    Each test's perturbation (``text, rng -> text or None``) is tried on the slice's tweets (every tweet of
    df_eval without ``slice_name``) in a shuffled order (``seed``) until ``n_per_test`` apply; a tweet it does
    not apply to (no hashtag to remove, no name to change) is not counted. A test fails on a tweet when the
    model breaks its expectation, judged on the model's own predictions. The position of a prediction is
    +conf (positive), -conf (negative) or 0 (neutral); moves of at most DIR_TOLERANCE are noise.
    ``tests`` (default PERTURBATION_TESTS) holds :class:`INV` and :class:`DIR` tests:

    - INV (add_hashtag, remove_hashtags, add_mention, remove_mentions, add_url, remove_urls,
      add_neutral_emoji, change_case, add_typo, change_name, change_place): the predicted label must not
      change. change_name / change_place swap the names and places of PERSON_NAMES, CITIES and COUNTRIES.
    - DIR add_negation: a positive or negative prediction must move away from its side by more than
      DIR_TOLERANCE (change label, or lose that much confidence: negating one clause of a long tweet need
      not flip it). A neutral one is not applicable (a negated neutral statement, "the shop is not open",
      is usually still neutral).
    - DIR append_negative_clause / append_positive_clause: the prediction must not move toward the opposite
      side by more than DIR_TOLERANCE (fails: positive 0.6 -> 0.8 after a negative clause; negative 0.9 ->
      neutral).
    - MFT: the suite of MFT_SUITES matching the slice (MFT_SUITE_KEYS), {thing} filled from MFT_THINGS
      with ``seed``: the prediction must equal the template's label.

    A precomputed model is replaced by its hub model for the new texts (see ``stress.models_for_new_texts``);
    when none can run, that model's rows have n = 0 and an example saying it was not run.

    Returns ``(results, examples)``. ``results``: one row per test x model, columns ``test``, ``kind``
    (INV / DIR / MFT), ``model``, ``n`` (applicable cases), ``failures``, ``failure_rate`` in [0, 1]
    (lower is better; NaN when n == 0) with 95% Wilson ``lo`` / ``hi``, and ``example`` (one failure,
    "original [pred conf] -> perturbed [pred conf]", or ""). ``examples``: every failure, columns ``test``,
    ``kind``, ``model``, ``expected``, ``original``, ``perturbed``, ``pred_before``, ``pred_after``,
    ``conf_before``, ``conf_after`` (for MFT the template is ``original``, its prediction ``pred_after``).
    """
    _require_table(df_eval, ["text"], "run_perturbation_tests", "df_eval from lab.build_eval_table")
    _require_models(models)
    if int(n_per_test) < 1:
        raise ValueError(f"n_per_test={n_per_test}; use a positive number (default {PERTURBATION_SAMPLE}).")
    rows = _slice_rows(df_eval, slices, slice_name) if slice_name is not None else df_eval
    pool = list(dict.fromkeys(rows["text"].astype(str)))
    random.Random(seed).shuffle(pool)
    suite, rng = _mft_suite(slice_name, slices), random.Random(seed)
    mft = MFT(f"mft_{suite}", tuple((t.format(thing=rng.choice(MFT_THINGS)), label) for t, label in MFT_SUITES[suite]))
    pairs = {test.name: _applicable_cases(test, pool, n_per_test, seed) for test in tests}
    texts = list(dict.fromkeys([t for found in pairs.values() for pair in found for t in pair]
                               + [text for text, _ in mft.templates]))
    runnable = models_for_new_texts(models, hub_models=hub_models)
    predicted = _predict_new(runnable, texts, cache_dir)
    results, failures = [], []
    for test in [*tests, mft]:
        for role in _MODELS:
            if predicted[role] is None:
                results.append((test.name, test.kind, role, 0, 0, np.nan, np.nan, np.nan,
                                f"not run: {models[role].model_id} cannot score new tweets"))
                continue
            p = dict(zip(texts, zip(predicted[role]["pred"], predicted[role]["conf"])))
            n, bad = 0, []
            if isinstance(test, MFT):
                checked = [(text, label, None, (pd.NA, np.nan), p[text], test.passes(p[text], label))
                           for text, label in test.templates]
            else:
                checked = [(original, test.expectation, new, p[original], p[new], test.passes(p[original], p[new]))
                           for original, new in pairs[test.name]]
            for original, expected, new, before, after, ok in checked:
                if ok is None:  # not applicable for this model's prediction
                    continue
                n += 1
                if not ok:
                    bad.append({"test": test.name, "kind": test.kind, "model": role, "expected": expected,
                                "original": original, "perturbed": new, "pred_before": before[0],
                                "pred_after": after[0], "conf_before": before[1], "conf_after": after[1]})
            results.append((test.name, test.kind, role, n, len(bad), *_proportion(len(bad), n),
                            _example_text(bad[0]) if bad else ""))
            failures += bad
    return (pd.DataFrame(results, columns=_PERTURBATION_COLUMNS),
            pd.DataFrame(failures, columns=_PERTURBATION_EXAMPLE_COLUMNS))
