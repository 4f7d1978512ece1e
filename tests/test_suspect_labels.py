"""lab4.metrics.suspect_labels (Step 5): tweets whose gold label both models confidently contradict."""
import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_VAL

import lab4_helpers as lab
from lab4.config import CONFIDENT_THRESHOLD

ROWS = [  # text, label, baseline (pred, conf), candidate (pred, conf), suspect at the default threshold?
    ("announcing the new phone tomorrow", "positive", ("neutral", 0.95), ("neutral", 0.90), True),
    ("I love it", "negative", ("positive", 0.99), ("positive", 0.80), True),        # exactly at the threshold
    ("meh", "positive", ("neutral", 0.95), ("neutral", 0.79), False),              # one model not confident
    ("ok then", "positive", ("neutral", 0.95), ("negative", 0.95), False),         # the models disagree
    ("great #win", "positive", ("positive", 0.99), ("positive", 0.99), False),     # they agree with the label
    ("no score", "neutral", ("negative", np.nan), ("negative", 0.99), False),      # NaN is never confident
    ("why not?", "neutral", ("positive", 0.85), ("positive", 0.85), True),
]


@pytest.fixture
def df_eval():
    tweets = lab.add_slice_metadata(pd.DataFrame({"tweet_id": range(len(ROWS)), "text": [r[0] for r in ROWS],
                                                  "label": [r[1] for r in ROWS]}))
    parts = [tweets.assign(model=role, model_id=role, pred=[r[k][0] for r in ROWS], conf=[r[k][1] for r in ROWS])
             for role, k in (("baseline", 2), ("candidate", 3))]
    return lab.build_eval_table(pd.concat(parts, ignore_index=True))


def test_suspects_are_confident_agreements_against_the_label(df_eval):
    suspects = lab.suspect_labels(df_eval)
    expected = [r[0] for r in ROWS if r[4]]
    assert sorted(suspects["text"]) == sorted(expected)
    assert suspects["text"].tolist()[0] == "announcing the new phone tomorrow"  # most confident first
    assert (suspects["agreed_pred"] != suspects["label"]).all()
    assert {"text", "label", "agreed_pred", "baseline_conf", "candidate_conf", "has_negation"} <= set(suspects.columns)
    assert not {"baseline_pred", "regressed", "both_wrong"} & set(suspects.columns)


def test_gold_labels_are_never_changed(df_eval):
    before = df_eval.copy()
    lab.suspect_labels(df_eval)
    lab.suspect_labels(df_eval, slices=lab.default_slices())
    pd.testing.assert_frame_equal(df_eval, before)


@pytest.mark.parametrize("confident, n", [(CONFIDENT_THRESHOLD, 3), (0.5, 4), (0.9, 1), (1.0, 0)])
def test_threshold(df_eval, confident, n):
    assert len(lab.suspect_labels(df_eval, confident=confident)) == n


def test_per_slice_counts(df_eval):
    table = lab.suspect_labels(df_eval, slices=lab.default_slices())
    assert list(table.columns) == ["slice", "n", "suspects", "suspect_rate"] and table["slice"].iloc[0] == "all"
    rows = table.set_index("slice")
    assert (rows.loc["all", "n"], rows.loc["all", "suspects"]) == (len(ROWS), 3)
    assert rows.loc["is_question", "suspects"] == 1 and rows.loc["has_hashtag", "suspects"] == 0
    assert rows.loc["all", "suspect_rate"] == pytest.approx(3 / len(ROWS))
    empty = rows[rows["n"] == 0]
    assert empty["suspect_rate"].isna().all() and (empty["suspects"] == 0).all()


def test_missing_columns_are_a_clear_error(df_eval):
    with pytest.raises(KeyError, match="missing column"):
        lab.suspect_labels(df_eval.drop(columns="candidate_conf"))


@pytest.mark.skipif(not SHARED_VAL.exists(), reason="shared TweetEval sample not present")
def test_realistic_data_gives_a_few_suspects(tmp_path):
    """300 real TweetEval tweets with the offline pair (the candidate's head fit on the bundled train split, as
    in the notebook): suspects exist and are a small share."""
    tweets, _ = lab.load_tweets(SHARED_VAL, verbose=False)
    tweets = lab.add_slice_metadata(tweets.head(300))
    models = lab.load_models("offline", cache_dir=tmp_path, progress=False, verbose=False)
    df_eval = lab.build_eval_table(lab.run_models(tweets, models, cache_dir=tmp_path, progress=False), tweets=tweets)
    suspects = lab.suspect_labels(df_eval)
    assert 0 < len(suspects) < 0.15 * len(df_eval)
    assert suspects["agreed_pred"].isin(lab.LABELS).all()
