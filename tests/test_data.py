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


# TweetEval's sentiment balance (negative, neutral, positive) per split: the bundled splits are built to match it.
TWEETEVAL_BALANCE = {"test": (0.32, 0.48, 0.20), "train": (0.16, 0.45, 0.39)}


@pytest.mark.parametrize("split", ["test", "train"])
def test_bundled_csv_has_no_duplicates_and_tweeteval_balance(split):
    source = pd.read_csv(lab4.data.BUNDLED_CSV, dtype=str, keep_default_na=False)
    assert not source["text"].str.strip().str.lower().duplicated().any()
    rows = source[source["split"] == split]
    assert len(rows) >= 1000
    shares = rows["label"].value_counts(normalize=True)
    for label, expected in zip(["negative", "neutral", "positive"], TWEETEVAL_BALANCE[split]):
        assert shares[label] == pytest.approx(expected, abs=0.03), (split, label)


def test_every_shipped_slice_holds_at_least_100_test_tweets():
    tweets, _ = lab.load_tweets(verbose=False)
    tweets = lab.add_slice_metadata(tweets)
    sizes = {name: int(fn(tweets).sum()) for name, fn in lab.default_slices().items()}
    assert min(sizes.values()) >= 100, sizes


def test_bundled_splits_are_on_different_topics():
    """TweetEval's test split comes from a later period and other topics than its train split; so do ours."""
    import re

    source = pd.read_csv(lab4.data.BUNDLED_CSV, dtype=str, keep_default_na=False)
    tags = {split: {t.lower() for text in source.loc[source["split"] == split, "text"]
                    for t in re.findall(r"#\w+", text)} for split in ("test", "train")}
    assert len(tags["test"] & tags["train"]) <= 0.2 * len(tags["test"])


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


def test_hub_switched_off_by_the_user_uses_the_bundled_csv(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tweets, _ = lab.load_tweets()  # DATA_SOURCE="auto" by default
    assert len(tweets) >= 1000 and tweets.attrs["source"].endswith("tweets.csv")
    assert "HF_HUB_OFFLINE is set" in capsys.readouterr().out


@pytest.mark.skipif(not SHARED_VAL.exists(), reason="shared TweetEval sample not present")
def test_real_tweeteval_sample_loads():
    tweets, dropped = lab.load_tweets(SHARED_VAL, verbose=False)
    assert len(tweets) + len(dropped) == 2000 and len(tweets) > 1900


@pytest.mark.parametrize("header", ["Text,Label", " TEXT , label ", "text,LABEL"])
def test_column_names_match_ignoring_case_with_a_note(write_csv, capsys, header):
    tweets, _ = lab.load_tweets(write_csv(f"{header}\nhi,Positive\nbye,negative\n"))
    assert tweets[["text", "label"]].values.tolist() == [["hi", "positive"], ["bye", "negative"]]
    assert "matched ignoring case" in capsys.readouterr().out


def test_every_row_dropped_is_a_clear_error(write_csv):
    with pytest.raises(ValueError, match=r"nothing to evaluate: all 2 rows .* \{'empty text': 1, 'missing label': 1\}"):
        lab.load_tweets(write_csv("text,label\n,positive\nhi,\n"), verbose=False)


SPLITS_CSV = "text,label,split\na,positive,validation\nb,negative,validation\nc,neutral,train\n"


@pytest.mark.parametrize("split, kept, note", [
    ("auto", ["a", "b", "c"], "no rows with split 'test' (splits found: validation (2), train (1)); evaluating every row"),
    ("validation", ["a", "b"], None),
    ("Train", ["c"], None),
    (None, ["a", "b", "c"], None),
])
def test_split_choice(write_csv, capsys, split, kept, note):
    tweets, dropped = lab.load_tweets(write_csv(SPLITS_CSV), split=split)
    assert tweets["text"].tolist() == kept and len(tweets) + len(dropped) == 3
    out = capsys.readouterr().out
    assert (note in out) if note else ("no rows with split" not in out)


def test_a_split_that_does_not_exist_lists_the_ones_that_do(write_csv):
    with pytest.raises(ValueError, match=r"no rows with split 'valid'; the 'split' column holds validation \(2\), "
                                         r"train \(1\)"):
        lab.load_tweets(write_csv(SPLITS_CSV), split="valid", verbose=False)


def test_step2_cells_in_a_kernel_on_a_validation_only_title_case_csv(tmp_path, monkeypatch):
    """The student path: the notebook's own parameters and Step 2 cells, run in a real kernel on a CSV whose
    header is title case and whose `split` column holds only 'validation' (both used to fail)."""
    import nbclient
    import nbformat

    from conftest import ROOT

    rows = "\n".join(f"tweet number {i},{['Negative', 'neutral', 'POSITIVE'][i % 3]},validation" for i in range(12))
    (tmp_path / "mine.csv").write_text("Text,Label,Split\n" + rows + "\n", encoding="utf-8")
    lab_nb = nbformat.read(ROOT / "lab4.ipynb", as_version=4)
    params = next(c for c in lab_nb.cells if "parameters" in c.metadata.get("tags", []))
    step2 = [c for c in lab_nb.cells if c.cell_type == "code" and c.source.startswith(
        ("tweets, dropped = lab.load_tweets", "row_counts = lab.row_accounting"))]
    assert len(step2) == 2
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell('DATA_PATH = "mine.csv"\n'
                                                                           "import lab4_helpers as lab"), *step2])
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert not [o for o in outputs if o.output_type == "error"]
    assert "read column(s) 'Text' as 'text', 'Label' as 'label', 'Split' as 'split'" in text
    assert "no rows with split 'test' (splits found: validation (12))" in text
    assert "12 rows: 12 to evaluate" in text
