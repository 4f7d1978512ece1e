"""The sample Step 7 hypothesis is shown as true only for a candidate whose tokenizer really maps emoji to [UNK]."""
import pandas as pd
import pytest

import lab4_helpers as lab
from lab4.deliverables import SAMPLE_HYPOTHESIS, SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM, hypothesis_is_sample

TEXTS = ["so happy today 😍😍😍", "worst commute ever 😤😤😤", "lecture at 9 📚☕📚", "meh 🙄🙄🙄 whatever"]


@pytest.fixture(scope="module")
def df_eval():
    tweets = lab.add_slice_metadata(pd.DataFrame({"tweet_id": range(4), "text": TEXTS,
                                                  "label": ["positive", "negative", "neutral", "negative"]}))
    long = pd.concat([tweets.assign(model=m, model_id=m, pred="neutral", conf=0.5) for m in ("baseline", "candidate")],
                     ignore_index=True)
    return lab.build_eval_table(long)


def _models(tmp_path, builder):
    import standins
    if builder is None:
        return lab.load_models("offline", baseline="vader", candidate="vader", verbose=False)
    folder = getattr(standins, builder)(tmp_path / builder)
    return lab.load_models("offline", baseline="vader", candidate=str(folder), verbose=False)


@pytest.mark.parametrize("builder, holds", [
    ("build_wordpiece_sentiment", True),     # WordPiece without emoji in its vocabulary: [UNK], as MiniLM does
    ("build_roberta_sentiment", False),      # byte-level BPE keeps every emoji
    ("build_gpt2_sentiment", False),
    (None, False),                           # VADER: no tokenizer, so no tokenizer claim
])
def test_the_sample_claim_is_checked_on_the_loaded_tokenizer(tmp_path, df_eval, capsys, builder, holds):
    pytest.importorskip("transformers")
    models = _models(tmp_path, builder)
    stated = lab.check_sample_claim(SAMPLE_HYPOTHESIS, models, df_eval, lab.default_slices(), "emoji_dense")
    message = capsys.readouterr().out.strip()
    assert stated == (SAMPLE_HYPOTHESIS if holds else SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM)
    if holds:
        assert message.startswith("Our sample's claim holds") and "100% of the 12 emoji" in message
    else:
        assert "does not hold" in message and SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM in message
        assert "[UNK]" not in SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM


def test_own_hypotheses_are_left_alone_and_both_samples_count_as_sample(df_eval, capsys):
    models = lab.load_models("offline", baseline="vader", candidate="vader", verbose=False)
    assert lab.check_sample_claim("The candidate misreads sarcasm.", models, df_eval, lab.default_slices(),
                                  "emoji_dense") == "The candidate misreads sarcasm."
    assert capsys.readouterr().out == ""
    assert hypothesis_is_sample(SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM)
