"""Step 3: metadata extractors and the slice registry."""
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import lab4_helpers as lab
import lab4.slicing

def meta(text):
    return lab.add_slice_metadata(pd.DataFrame({"text": [text]})).iloc[0]


@pytest.mark.parametrize("text, column, expected", [
    ("#Monday again", "has_hashtag", True),
    ("C# is a language", "has_hashtag", False),
    ("@user see you", "has_mention", True),
    ("mail me at a@b", "has_mention", True),
    ("look http://t.co/Ab12Cd", "has_url", True),
    ("no link here", "has_url", False),
    ("great 😂", "n_emoji", 1),
    ("😂😂😂", "emoji_dense", True),
    ("😭", "emoji_density", 1.0),
    ("I don't care", "has_negation", True),
    ("I don’t care", "has_negation", True),
    ("nothing works", "has_negation", True),
    ("notable game", "has_negation", False),
    ("good but slow", "has_contrast", True),
    ("butter", "has_contrast", False),
    ("why?", "is_question", True),
    ("WORST day", "has_allcaps", True),
    ("NBA tonight", "has_allcaps", False),
    ("sooooo good", "has_elongation", True),
    ("http://t.co/aaaaa", "has_elongation", False),
    ("hi", "length_bucket", "short"),
    ("x" * 60, "length_bucket", "medium"),
    ("x" * 130, "length_bucket", "long"),
    ("", "emoji_density", 0.0),
])
def test_extractors(text, column, expected):
    assert meta(text)[column] == expected


def test_metadata_keeps_rows_and_does_not_modify_input():
    tweets = pd.DataFrame({"text": ["a", "b #x"], "label": ["neutral", "positive"], "extra": [1, 2]})
    out = lab.add_slice_metadata(tweets)
    assert list(tweets.columns) == ["text", "label", "extra"]
    assert len(out) == 2 and "extra" in lab.metadata_columns(out) and "has_hashtag" in lab.metadata_columns(out)


def test_missing_text_column_is_a_clear_error():
    with pytest.raises(KeyError, match="missing column 'text'"):
        lab.add_slice_metadata(pd.DataFrame({"tweet": ["x"]}))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_extractors_never_raise_and_counts_are_non_negative(text):
    row = meta(text)
    counts = ["n_chars", "n_words", "n_hashtags", "n_mentions", "n_urls", "n_emoji", "n_allcaps_words"]
    assert all(row[c] >= 0 for c in counts)
    assert 0.0 <= row["emoji_density"] <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_adding_a_hashtag_sets_has_hashtag(text):
    assert meta(text + " #x")["has_hashtag"]


def test_default_slices_have_docstrings_and_students_can_add():
    slices = lab.default_slices()
    assert len(slices) >= 12 and all(lab4.slicing._describe(f) for f in slices.values())

    @lab.add_slice(slices)
    def shouty_question(df):
        "Questions with a shouted word."
        return df.is_question & df.has_allcaps

    tweets = lab.add_slice_metadata(pd.DataFrame({"text": ["WHERE is it?", "why?"]}))
    table = lab.describe_slices(tweets, slices).set_index("slice")
    assert table.loc["shouty_question", "n"] == 1
    assert lab.default_slices().keys().isdisjoint({"shouty_question"})  # a fresh copy each call


@pytest.mark.parametrize("predicate, message", [
    (lambda df: df.no_such_column, "slice 'bad' uses column 'no_such_column', which this table does not have"),
    (lambda df: df["no_such"], "slice 'bad' uses column 'no_such'"),
    (lambda df: df.text.str.nope(), "slice 'bad' failed: AttributeError"),
    (lambda df: [True], "returned list"),
    (lambda df: df.n_chars, "non-boolean values"),
])
def test_bad_slice_predicates_get_clear_errors(predicate, message):
    tweets = lab.add_slice_metadata(pd.DataFrame({"text": ["a", "bb"]}))
    with pytest.raises(ValueError, match=message):
        lab.slice_masks(tweets, {"bad": predicate})


def test_slice_masks_treat_missing_as_not_in_slice():
    tweets = pd.DataFrame({"flag": pd.array([True, None], dtype="boolean")})
    assert lab.slice_masks(tweets, {"f": lambda df: df.flag})["f"].tolist() == [True, False]


@pytest.mark.skipif(not __import__("conftest").SHARED_VAL.exists(), reason="shared TweetEval sample not present")
def test_extractors_on_real_tweets_give_plausible_rates():
    from conftest import SHARED_VAL

    tweets, _ = lab.load_tweets(SHARED_VAL, verbose=False)
    meta = lab.add_slice_metadata(tweets)
    assert 0.2 < meta["has_mention"].mean() < 0.45   # TweetEval anonymises mentions as @user
    assert 0.1 < meta["has_hashtag"].mean() < 0.3
    assert 0.1 < meta["has_negation"].mean() < 0.35
    assert meta["n_chars"].between(1, 300).all()


@pytest.mark.parametrize("text, n_emoji", [
    ("family day 👨‍👩‍👧", 1),                 # ZWJ sequence: one emoji, not three
    ("nice 👍🏽", 1),                          # skin-tone modifier belongs to the hand
    ("allez 🇫🇷🇫🇷", 2),                        # a flag is one emoji (two regional indicators)
    ("call me 1️⃣ #️⃣", 2),                     # keycaps
    ("© 2024 ® ™ 100 ‼", 0),                    # text-style symbols and digits are not emoji
    ("©️ with the emoji selector", 1),           # U+FE0F asks for the emoji form
    ("sad ☹︎ in text style", 0),                # U+FE0E asks for the text form
    ("love ❤ it ❤️", 2),                        # hearts with and without U+FE0F
    ("🙃🙃🙃", 3),
    ("plain ascii :)", 0),
])
def test_emoji_counts_follow_the_emoji_package(text, n_emoji):
    out = lab.add_slice_metadata(pd.DataFrame({"text": [text]}))
    assert out["n_emoji"].iloc[0] == n_emoji


def test_keycap_digit_is_not_a_word_and_graphemes_are_characters():
    out = lab.add_slice_metadata(pd.DataFrame({"text": ["1️⃣ 👨‍👩‍👧"]}))
    assert out["n_words"].iloc[0] == 0 and out["n_chars"].iloc[0] == 3   # keycap, space, family
