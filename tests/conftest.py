"""Shared fixtures: small frames written here, and the offline model pair (loaded once per session)."""
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WANDB_MODE", "offline")  # tests never talk to W&B's cloud
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import lab4_helpers as lab  # noqa: E402

SHARED_VAL = ROOT.parent / "shared" / "data" / "tweeteval_sentiment_val.csv"


@pytest.fixture
def write_csv(tmp_path):
    """Write text (str or bytes) to a CSV file in tmp_path and return its path."""
    def write(content, name="data.csv"):
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path
    return write


@pytest.fixture(scope="session")
def offline_models(tmp_path_factory):
    """VADER + MiniLM/logistic-regression, the head fit on a small train frame written here."""
    train = pd.DataFrame({
        "text": ["I love this so much", "what a great day", "best game ever", "this is awful",
                 "I hate mondays", "worst service ever", "the meeting is at 3pm", "bus leaves at noon",
                 "new episode airs friday", "so happy for you", "terrible terrible idea", "store opens at 9"],
        "label": ["positive", "positive", "positive", "negative", "negative", "negative", "neutral",
                  "neutral", "neutral", "positive", "negative", "neutral"],
    })
    cache = tmp_path_factory.mktemp("cache")
    return lab.load_models("offline", train=train, cache_dir=cache, progress=False, verbose=False), cache


@pytest.fixture
def tiny_eval():
    """A df_eval of 8 tweets with known outcomes: 2 regressions, 1 improvement, 1 both wrong, 4 both right."""
    tweets = lab.add_slice_metadata(pd.DataFrame({
        "tweet_id": range(8),
        "text": ["not good #fail", "love it", "ok then", "why not?", "#tbt fun", "meh", "NOOO way", "fine"],
        "label": ["negative", "positive", "neutral", "neutral", "positive", "neutral", "negative", "neutral"],
    }))
    base = ["negative", "positive", "neutral", "positive", "positive", "neutral", "negative", "positive"]
    cand = ["positive", "positive", "neutral", "neutral", "negative", "neutral", "negative", "positive"]
    long = pd.concat([tweets.assign(model="baseline", model_id="b", pred=base, conf=0.9),
                      tweets.assign(model="candidate", model_id="c", pred=cand, conf=0.85)], ignore_index=True)
    return lab.build_eval_table(long)


@pytest.fixture(scope="session")
def lab_runs(tmp_path_factory):
    """The fixed lab runs of tests/labruns.py (untouched, completed, errored, precomputed), executed once."""
    import shutil

    from labruns import make_runs
    runs = make_runs(tmp_path_factory)
    yield runs
    for folder in runs.folders:
        shutil.rmtree(folder, ignore_errors=True)
