"""Keyword "models" with known behaviour, and a small df_eval built from them with the lab's own Step 3-5
functions: the Step 7 tests (stress, perturbations, review) share them."""
import pandas as pd
import pytest

import lab4.stress
import lab4_helpers as lab

POSITIVE_WORDS = ("love", "great", "good", "best", "amazing", "happy", "fine")
NEGATIVE_WORDS = ("hate", "worst", "bad", "awful", "terrible", "disappointed")

EVAL_TWEETS = [
    ("not bad at all, I liked it", "positive"), ("the movie was not good", "negative"),
    ("I don't love this update", "negative"), ("never disappointed by this band", "positive"),
    ("great game tonight #win", "positive"), ("worst service ever @user", "negative"),
    ("the bus leaves at 9 http://t.co/abc", "neutral"), ("I love Mondays", "positive"),
    ("the store is open today", "neutral"), ("it isn't open on Sunday", "neutral"),
]


def keyword_predict(texts, *, reads_negation=False):
    """positive / negative by keyword, else neutral; ``reads_negation`` flips polarity after 'not'/n't."""
    out = []
    for text in texts:
        low = text.lower()
        pos = any(w in low for w in POSITIVE_WORDS)
        neg = any(w in low for w in NEGATIVE_WORDS)
        label = "positive" if pos and not neg else "negative" if neg and not pos else "neutral"
        if reads_negation and label != "neutral" and ("not " in low or "n't" in low or "never" in low):
            label = "negative" if label == "positive" else "positive"
        out.append((label, 0.9 if label != "neutral" else 0.6))
    return out


def make_models(calls=None):
    """baseline reads negation, candidate does not (the lab's hypothesis, in miniature)."""
    def counted(role, **kw):
        def predict(texts):
            if calls is not None:
                calls.append((role, list(texts)))
            return keyword_predict(texts, **kw)
        return predict

    return {"baseline": lab.SentimentModel("baseline", "kw-neg", "fake", "kw-neg-1",
                                           counted("baseline", reads_negation=True)),
            "candidate": lab.SentimentModel("candidate", "kw", "fake", "kw-1", counted("candidate"))}


def eval_table(tweets=EVAL_TWEETS, models=None):
    """df_eval of ``tweets`` (text, label) scored by ``models`` (default :func:`make_models`)."""
    frame = lab.add_slice_metadata(pd.DataFrame({"tweet_id": range(len(tweets)), "text": [t for t, _ in tweets],
                                                 "label": [y for _, y in tweets]}))
    parts = []
    for role, model in (models or make_models()).items():
        preds = model.predict_batch(list(frame["text"]))
        parts.append(frame.assign(model=role, model_id=model.model_id, pred=[p for p, _ in preds],
                                  conf=[c for _, c in preds]))
    return lab.build_eval_table(pd.concat(parts, ignore_index=True))


@pytest.fixture(autouse=True)
def fresh_skip_messages(monkeypatch):
    """Each test sees the full "cannot score new tweets" message (later calls in a session shorten it).
    Importing this fixture into a test module turns it on there."""
    monkeypatch.setattr(lab4.stress, "_SKIPPED_BEFORE", set())


def precomputed_model(role, column):
    """A precomputed-column model: it knows no new tweet, as Step 7's generated cases are."""
    def predict(texts):
        raise KeyError(f"precomputed model {column!r} has no prediction for {len(texts)} text(s)")
    return lab.SentimentModel(role, f"precomputed:{column}", "precomputed", f"pre-{column}", predict)
