"""Reliability catalogue rows not covered elsewhere: odd texts, odd files, odd model ids.

The "Bad input and faults" table (docs/faults.md) names the test behind every row.
"""
import pandas as pd
import pytest

import lab4_helpers as lab
import lab4.models
import lab4.runtime
ODD_TEXTS = {
    "long": "so " * 3400 + "good",                      # > 10,000 characters
    "emoji_only": "😂😂🔥🔥💀",
    "rtl": "هذا رائع جدا @user #مباراة",
    "entities": "fish &amp; chips &lt;3",
    "newline": "first line\nsecond line",
    "symbols": "!!!???...",
}


def test_odd_texts_load_and_keep_their_content(write_csv):
    rows = pd.DataFrame({"text": list(ODD_TEXTS.values()), "label": ["positive"] * len(ODD_TEXTS)})
    path = write_csv(rows.to_csv(index=False))
    tweets, dropped = lab.load_tweets(path, verbose=False)
    assert len(tweets) == len(ODD_TEXTS) and dropped.empty
    assert tweets.loc[3, "text"] == "fish & chips <3"
    assert tweets.loc[0, "text"] == ODD_TEXTS["long"] and len(tweets.loc[0, "text"]) > 10_000


def test_odd_texts_get_metadata_and_predictions(offline_models):
    models, cache = offline_models
    tweets = lab.add_slice_metadata(pd.DataFrame({"tweet_id": range(len(ODD_TEXTS)), "text": list(ODD_TEXTS.values()),
                                                  "label": "neutral"}))
    meta = tweets.set_index(pd.Index(list(ODD_TEXTS)))
    assert meta.loc["emoji_only", "n_emoji"] == 5 and meta.loc["emoji_only", "emoji_dense"]
    assert meta.loc["rtl", "has_mention"] and meta.loc["rtl", "has_hashtag"]
    assert meta.loc["long", "length_bucket"] == "long"
    df_long = lab.run_models(tweets, models, cache_dir=cache, progress=False)
    assert df_long["pred"].isin(lab.LABELS).all() and df_long["conf"].between(0, 1).all()


def test_empty_file_is_a_clear_error(write_csv):
    with pytest.raises(ValueError, match="is empty; expected a CSV with a header row"):
        lab.load_tweets(write_csv(""), verbose=False)


def test_header_only_file_is_a_clear_error(write_csv):
    with pytest.raises(ValueError, match=r"has a header \(\['text', 'label'\]\) but no rows: nothing to evaluate"):
        lab.load_tweets(write_csv("text,label\n"), verbose=False)


def test_misspelt_hub_id_says_so(monkeypatch):
    monkeypatch.setattr(lab4.runtime, "hub_reachable", lambda **_: True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the lookup fails at once instead of asking the hub
    with pytest.raises(ValueError, match=r"could not load model 'cardifnlp/roberta-typo' as a hub id"):
        lab4.models._transformers_model("baseline", "cardifnlp/roberta-typo")


def test_explicit_hub_source_without_network_is_an_error(monkeypatch):
    monkeypatch.setattr(lab4.runtime, "hub_reachable", lambda **_: False)
    with pytest.raises(ConnectionError, match="MODEL_SOURCE='offline'"):
        lab.load_models("hub", verbose=False)


def test_two_label_handling_is_stated_and_logged(tmp_path):
    model = lab.SentimentModel("candidate", "m", "hub", "fp", lambda t: [], notes="neutral predicted when ...")
    config = lab.run_config(pd.DataFrame({"text": []}), pd.DataFrame({"reason": []}), {"candidate": model})
    assert config["candidate/notes"].startswith("neutral predicted")
