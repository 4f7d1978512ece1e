"""Step 2: loading, label normalisation and row accounting."""
import pandas as pd
import pytest

import lab4_helpers as lab
import lab4.data
import lab4.runtime
from conftest import SHARED_VAL


@pytest.mark.parametrize("raw, expected", [
    (["negative", "neutral", "positive"], ["negative", "neutral", "positive"]),
    (["Positive", " NEG ", "Neu"], ["positive", "negative", "neutral"]),
    (["0", "1", "2"], ["negative", "neutral", "positive"]),
    ([0, 1, 2], ["negative", "neutral", "positive"]),
    (["-1", "0", "1"], ["negative", "neutral", "positive"]),
    ([2.0, 0.0, 1.0], ["positive", "negative", "neutral"]),
])
def test_normalise_labels_accepts_common_spellings(raw, expected):
    assert lab.normalise_labels(pd.Series(raw)).tolist() == expected


def test_unknown_labels_are_listed_with_counts():
    with pytest.raises(ValueError, match=r"unknown label values \{'happy': 2, 'sad': 1\}"):
        lab.normalise_labels(pd.Series(["happy", "happy", "sad", "positive"]))


def test_binary_numeric_labels_are_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        lab.normalise_labels(pd.Series([0, 1, 1]))


def test_bundled_csv_loads_test_split_and_accounts_for_every_row():
    tweets, dropped = lab.load_tweets(verbose=False)
    source = pd.read_csv(lab4.data.BUNDLED_CSV)
    assert len(tweets) + len(dropped) == len(source)
    assert (tweets["split"] == "test").all() and len(tweets) >= 1000
    assert set(tweets["label"]) == set(lab.LABELS)
    assert dropped["reason"].str.startswith("split train").sum() >= 1000


def test_bundled_csv_has_no_duplicates_and_balanced_classes():
    source = pd.read_csv(lab4.data.BUNDLED_CSV)
    assert not source["text"].duplicated().any()
    shares = source[source["split"] == "test"]["label"].value_counts(normalize=True)
    assert shares["negative"] == pytest.approx(0.32, abs=0.03)
    assert shares["neutral"] == pytest.approx(0.48, abs=0.03)
    assert shares["positive"] == pytest.approx(0.20, abs=0.03)


def test_dropped_rows_carry_reasons(write_csv):
    path = write_csv("text,label\nhello,positive\n,negative\n   ,neutral\nhello,positive\nhello,negative\nbye,\n")
    tweets, dropped = lab.load_tweets(path, verbose=False)
    assert tweets["text"].tolist() == ["hello"]
    reasons = dict(zip(dropped["tweet_id"], dropped["reason"]))
    assert reasons == {1: "empty text", 2: "empty text", 3: "exact duplicate of tweet_id 0",
                       4: "same text as tweet_id 0 with another label", 5: "missing label"}
    counts = lab.row_accounting(tweets, dropped)
    assert counts["rows"].sum() == 6


@pytest.mark.parametrize("header, option, suggestion", [
    ("tweet,label", "text_column", "'tweet'"),
    ("text,sentiment", "label_column", "'sentiment'"),
    ("texts,label", "text_column", "'texts'"),
])
def test_missing_column_error_suggests_close_names(write_csv, header, option, suggestion):
    path = write_csv(f"{header}\nhi,positive\n")
    with pytest.raises(KeyError, match=rf"missing column .*found .*pass {option}={suggestion}"):
        lab.load_tweets(path, verbose=False)


def test_renamed_columns_via_options(write_csv):
    path = write_csv("tweet,sentiment,extra\nhi,pos,1\n")
    tweets, _ = lab.load_tweets(path, text_column="tweet", label_column="sentiment", verbose=False)
    assert tweets[["text", "label", "extra"]].values.tolist() == [["hi", "positive", "1"]]


@pytest.mark.parametrize("content, note", [
    ("text;label\nhola;positive\n".encode("utf-8"), "separated by ';'"),
    ("\ufefftext,label\nhi,positive\n".encode("utf-8"), "byte-order mark"),
    ("text,label\ncaf\xe9,positive\n".encode("cp1252"), "not UTF-8"),
])
def test_odd_files_are_read_with_a_note(write_csv, capsys, content, note):
    tweets, _ = lab.load_tweets(write_csv(content))
    assert len(tweets) == 1 and tweets.loc[0, "label"] == "positive"
    assert note in capsys.readouterr().out


def test_html_entities_and_newlines(write_csv):
    path = write_csv('text,label\n"fish &amp; chips\nyum",positive\n')
    tweets, _ = lab.load_tweets(path, verbose=False)
    assert tweets.loc[0, "text"] == "fish & chips\nyum"


@pytest.mark.parametrize("max_tweets, expected", [(2, 2), (10, 3), (None, 3)])
def test_max_tweets_samples_and_reports(write_csv, max_tweets, expected):
    path = write_csv("text,label\na,positive\nb,negative\nc,neutral\n")
    tweets, dropped = lab.load_tweets(path, max_tweets=max_tweets, verbose=False)
    assert len(tweets) == expected and len(tweets) + len(dropped) == 3


def test_max_tweets_zero_is_an_error(write_csv):
    with pytest.raises(ValueError, match="max_tweets=0 leaves nothing"):
        lab.load_tweets(write_csv("text,label\na,positive\n"), max_tweets=0, verbose=False)


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="DATA_PATH"):
        lab.load_tweets(tmp_path / "nope.csv", verbose=False)


def test_hf_dataset_unreachable_falls_back_to_csv(monkeypatch, capsys):
    monkeypatch.setattr(lab4.runtime, "hub_reachable", lambda **_: False)
    tweets, _ = lab.load_tweets(use_hf_dataset=True)
    assert len(tweets) >= 1000 and "not reachable" in capsys.readouterr().out


@pytest.mark.skipif(not SHARED_VAL.exists(), reason="shared TweetEval sample not present")
def test_real_tweeteval_sample_loads():
    tweets, dropped = lab.load_tweets(SHARED_VAL, verbose=False)
    assert len(tweets) + len(dropped) == 2000 and len(tweets) > 1900


def test_hf_dataset_path_converts_ids_to_words(monkeypatch):
    import datasets

    fake = datasets.Dataset.from_dict({"text": ["good", "bad", "meh"], "label": [2, 0, 1]})
    calls = []
    monkeypatch.setattr(lab4.runtime, "hub_reachable", lambda **_: True)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append((a, k)) or fake)
    tweets, dropped = lab.load_tweets(use_hf_dataset=True, verbose=False)
    assert calls[0][0] == ("cardiffnlp/tweet_eval", "sentiment") and calls[0][1]["split"] == "test"
    assert tweets["label"].tolist() == ["positive", "negative", "neutral"] and dropped.empty
    assert tweets.attrs["source"].startswith("hf:cardiffnlp/tweet_eval")
