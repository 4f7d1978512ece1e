"""The online path on faithful stand-ins: hub-shaped models in local folders (tests/standins.py), a
``datasets.Dataset`` shaped like tweet_eval, and a loopback HTTP server standing in for the hub's
reachability. The lab's real loading code runs throughout; nothing in transformers or datasets is mocked.
"""
import http.server
import os
import socket
import threading

import numpy as np
import pandas as pd
import pytest

import lab4_helpers as lab
import lab4.models
import standins

pytest.importorskip("transformers")
pytest.importorskip("datasets")

SMALL_TRAIN = pd.DataFrame({
    "text": ["I love this so much", "what a great day", "best game ever", "this is awful", "I hate mondays",
             "worst service ever", "the meeting is at 3pm", "bus leaves at noon", "new episode airs friday"],
    "label": ["positive"] * 3 + ["negative"] * 3 + ["neutral"] * 3,
})


class _Hub:
    """A loopback HTTP server that answers every request (as the hub's front page would) and counts them."""

    def __init__(self):
        hub = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self):  # noqa: N802 -- the http.server spelling
                hub.requests += 1
                self.send_response(200)
                self.end_headers()

            do_GET = do_HEAD

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub(monkeypatch):
    """The hub is up (a loopback stand-in) and the user has not set HF_HUB_OFFLINE."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    server = _Hub()
    yield server
    server.close()


@pytest.fixture
def hub_down(monkeypatch):
    """A loopback address where nothing listens (refused at once) and no HF_HUB_OFFLINE from the user."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("standins")
    return {name: str(standins.BUILDERS[name](root / name)) for name in ("roberta", "gpt2", "two_label")}


def tweet_eval_loader(calls=None, **sizes):
    """``load_dataset`` for tweet_eval, answered from the stand-in DatasetDict (records its calls)."""
    data = standins.build_tweet_eval_dataset(sizes or 30)

    def load_dataset(name, config, split):
        if calls is not None:
            calls.append((name, config, split))
        return data[split]
    return load_dataset


# --- issue: loading the offline models switched the hub off for the whole kernel ----------------------

def test_offline_models_leave_the_environment_and_auto_finds_the_hub(hub, hub_down, tmp_path, capsys):
    def hub_settings():  # what huggingface_hub / transformers / tokenizers / datasets read
        prefixes = ("HF_", "HUGGINGFACE", "TRANSFORMERS", "TOKENIZERS", "DATASETS")
        return {k: v for k, v in os.environ.items() if k.upper().startswith(prefixes)}

    before = hub_settings()
    models = lab.load_models("offline", train=SMALL_TRAIN, cache_dir=tmp_path, progress=False, verbose=False)
    tweets = pd.DataFrame({"tweet_id": [0, 1], "text": ["love it", "hate it"], "label": ["positive", "negative"]})
    lab.run_models(tweets, models, cache_dir=tmp_path, progress=False)
    assert models["candidate"].loaded  # the real MiniLM encoder was loaded and used
    # nothing written process-wide (torch and sklearn set KMP_*/TORCHINDUCTOR_* on import: not the lab)
    assert hub_settings() == before and "HF_HUB_OFFLINE" not in os.environ

    # same process, afterwards: "auto" still finds the (stand-in) hub, for models and for data ...
    assert lab.hub_reachable(url=hub.url)
    specs, source, story = lab4.models._plan("auto", {"baseline": None, "candidate": None}, hub.url)
    assert source == "hub" and specs == {"baseline": lab4.models.ONLINE_BASELINE,
                                         "candidate": lab4.models.ONLINE_CANDIDATE}
    assert "answers" in story
    tweets, _ = lab.load_tweets(hub_url=hub.url, load_dataset=tweet_eval_loader(), verbose=False)
    assert tweets.attrs["source"] == "hf:cardiffnlp/tweet_eval/sentiment:test"
    # ... and when the hub does not answer, "auto" goes offline, in the same process
    specs, source, story = lab4.models._plan("auto", {"baseline": None, "candidate": None}, hub_down)
    assert source == "offline" and specs["baseline"] == "vader" and "not reachable" in story
    tweets, _ = lab.load_tweets(hub_url=hub_down, load_dataset=tweet_eval_loader())
    assert tweets.attrs["source"].endswith("tweets.csv") and "not reachable" in capsys.readouterr().out


def test_users_hf_hub_offline_is_respected(monkeypatch, hub):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not lab.hub_reachable(url=hub.url)
    assert hub.requests == 0  # switched off by the user: not even asked


# --- issue: "auto" told a wrong story when both models are local folders -----------------------------

def test_auto_with_both_models_given_says_what_runs_and_never_asks_the_hub(hub, folders, tmp_path, capsys):
    models = lab.load_models("auto", baseline=folders["roberta"], candidate=folders["gpt2"], cache_dir=tmp_path,
                             hub_url=hub.url)
    out = capsys.readouterr().out
    assert "both models are given" in out and "not reachable" not in out and "offline" not in out
    assert hub.requests == 0
    for role, name in (("baseline", "roberta"), ("candidate", "gpt2")):
        model = models[role]
        assert (model.source, model.kind, model.model_id) == ("local", "local", folders[name])
    config = lab.run_config(pd.DataFrame({"text": ["a"]}), pd.DataFrame({"reason": []}), models)
    assert config["candidate/kind"] == "local" and config["candidate/model_id"] == folders["gpt2"]


def test_auto_with_one_model_given_names_each_choice(monkeypatch, folders, tmp_path, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the user's switch: the default comes from the offline pair
    models = lab.load_models("auto", baseline=folders["roberta"], train=SMALL_TRAIN, cache_dir=tmp_path)
    out = capsys.readouterr().out
    assert f"baseline: {folders['roberta']!r} (given)" in out
    assert "candidate: the offline default 'minilm-logreg'" in out and "HF_HUB_OFFLINE is set" in out
    assert models["baseline"].source == "local" and models["candidate"].source == "offline"


# --- the stand-ins run through the real loading and batching code -----------------------------------

@pytest.mark.parametrize("name, labels_note", [
    ("roberta", "mapped by name"), ("gpt2", "TweetEval order"), ("two_label", "neutral predicted"),
])
def test_standin_models_load_by_folder_and_batch(folders, tmp_path, name, labels_note):
    models = lab.load_models("offline", baseline=folders[name], candidate="vader", cache_dir=tmp_path,
                             verbose=False)
    model = models["baseline"]
    assert labels_note in model.notes and not model.loaded
    texts = ["I love it 😍", "worst day ever!!! 😡 #fail", "@user the bus leaves at noon http", "ok"]
    batched = model.predict(texts, batch_size=4, progress=False)
    single = model.predict(texts, batch_size=1, progress=False)  # GPT-2: batching needs the pad token fix
    assert batched["pred"].tolist() == single["pred"].tolist()
    assert np.allclose(batched["conf"], single["conf"], atol=1e-5)
    assert batched["pred"].isin(lab.LABELS).all() and batched["conf"].between(0, 1).all()


# --- issue: real tweets by default when they can be had --------------------------------------------

def test_hub_data_goes_through_datasets_and_its_classlabel_names(hub):
    calls = []
    tweets, dropped = lab.load_tweets(hub_url=hub.url, load_dataset=tweet_eval_loader(calls))
    assert calls == [("cardiffnlp/tweet_eval", "sentiment", "test")]
    reference = standins.build_tweet_eval_dataset(30)["test"]
    names = reference.features["label"].names
    expected = [names[i] for i in reference["label"]]
    assert len(tweets) + len(dropped) == 30
    assert tweets["label"].tolist() == [expected[i] for i in tweets["tweet_id"]]
    assert set(tweets["split"]) == {"test"}


def test_hub_labels_are_read_by_name_not_position(hub):
    import datasets

    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["positive", "negative", "neutral"])})
    data = datasets.Dataset.from_dict({"text": ["yay", "ugh", "bus at 5"], "label": [0, 1, 2]}, features=features)
    tweets, _ = lab.load_tweets(hub_url=hub.url, load_dataset=lambda name, config, split: data, verbose=False)
    assert tweets["label"].tolist() == ["positive", "negative", "neutral"]


@pytest.mark.parametrize("split, expected", [("validation", ["validation"]), (None, ["train", "validation", "test"])])
def test_hub_split_choice(hub, split, expected):
    calls = []
    tweets, _ = lab.load_tweets(split=split, hub_url=hub.url, load_dataset=tweet_eval_loader(calls), verbose=False)
    assert [c[2] for c in calls] == expected and sorted(set(tweets["split"])) == sorted(expected)


def test_hub_data_source_errors(hub_down, write_csv):
    with pytest.raises(ConnectionError, match="DATA_SOURCE = 'bundled'"):
        lab.load_tweets(source="hub", hub_url=hub_down, load_dataset=tweet_eval_loader())
    with pytest.raises(ValueError, match="both a CSV"):
        lab.load_tweets(write_csv("text,label\nhi,positive\n"), source="hub")
    with pytest.raises(ValueError, match="expected one of"):
        lab.load_tweets(source="huggingface")


def test_hub_loading_failure_falls_back_with_the_reason(hub, capsys):
    def broken(name, config, split):
        raise OSError("disk full")

    tweets, _ = lab.load_tweets(hub_url=hub.url, load_dataset=broken)
    assert tweets.attrs["source"].endswith("tweets.csv")
    assert "could not load cardiffnlp/tweet_eval (OSError: disk full)" in capsys.readouterr().out


# --- issue: say how long it will take before it starts ----------------------------------------------

@pytest.fixture
def standin_pair(folders, tmp_path):
    def make():
        return lab.load_models("offline", baseline=folders["roberta"], candidate=folders["gpt2"], cache_dir=tmp_path,
                               verbose=False)
    return make


def _tweets(n=120):
    data = standins.build_tweet_eval_dataset(n)["test"].to_pandas()
    frame = pd.DataFrame({"tweet_id": range(n), "text": [f"{t} #{i}" for i, t in enumerate(data["text"])],
                          "label": [lab.LABELS[i] for i in data["label"]]})
    frame.attrs["source"] = "test"
    return frame, pd.DataFrame({"tweet_id": [999], "reason": ["empty text"], "text": [""]})


def test_over_budget_samples_down_and_reports_the_rest(standin_pair, tmp_path, capsys):
    tweets, dropped = _tweets()
    models = standin_pair()
    kept, new_dropped = lab.plan_inference(tweets, dropped, models, budget_min=0.001, cache_dir=tmp_path, probe=16)
    out = capsys.readouterr().out
    assert "Step 4 estimate on cpu: 120 tweets" in out and "tweets/s (measured on 16" in out
    assert "over the 0.001-min budget" in out
    assert 1 <= len(kept) < len(tweets)
    assert len(kept) + len(new_dropped) == len(tweets) + len(dropped)  # every row accounted for
    extra = new_dropped.iloc[len(dropped):]
    assert set(extra["reason"]) == {"not sampled (time budget)"}
    assert set(extra["tweet_id"]) | set(kept["tweet_id"]) == set(tweets["tweet_id"])
    assert kept.attrs["source"] == "test" and list(new_dropped.columns) == ["tweet_id", "reason", "text"]
    assert "not sampled (time budget)" in lab.row_accounting(kept, new_dropped)["outcome"].tolist()

    # a re-run (fresh kernel: new model objects) picks the same tweets, without loading or timing anything
    lab.run_models(kept, models, cache_dir=tmp_path, progress=False)
    again_models = standin_pair()
    again, _ = lab.plan_inference(tweets, dropped, again_models, budget_min=0.001, cache_dir=tmp_path)
    assert again["tweet_id"].tolist() == kept["tweet_id"].tolist()
    assert "(remembered)" in capsys.readouterr().out
    assert not any(m.loaded for m in again_models.values())
    # re-running the Step 4 cell on the sample changes nothing
    same, same_dropped = lab.plan_inference(kept, new_dropped, again_models, budget_min=0.001, cache_dir=tmp_path)
    assert same["tweet_id"].tolist() == kept["tweet_id"].tolist() and len(same_dropped) == len(new_dropped)


@pytest.mark.parametrize("max_tweets, budget_min, message", [
    (120, 0.001, "MAX_TWEETS=120 is set"),
    (None, None, "-> ≈"),
])
def test_explicit_choice_runs_everything(standin_pair, tmp_path, capsys, max_tweets, budget_min, message):
    tweets, dropped = _tweets()
    kept, new_dropped = lab.plan_inference(tweets, dropped, standin_pair(), max_tweets=max_tweets,
                                           budget_min=budget_min, cache_dir=tmp_path, probe=8)
    assert kept is tweets and new_dropped is dropped
    assert message in capsys.readouterr().out


def test_everything_cached_means_nothing_to_plan(standin_pair, tmp_path, capsys):
    tweets, dropped = _tweets(30)
    lab.run_models(tweets, standin_pair(), cache_dir=tmp_path, progress=False)
    models = standin_pair()
    kept, _ = lab.plan_inference(tweets, dropped, models, budget_min=0.0001, cache_dir=tmp_path)
    assert kept is tweets and "nothing to compute, no model loaded" in capsys.readouterr().out
    assert not any(m.loaded for m in models.values())


# --- issue: load a model only when a prediction is missing ------------------------------------------

def test_warm_run_loads_no_model_and_new_texts_load_on_first_need(folders, tmp_path):
    tweets, _ = _tweets(20)

    def fresh():
        return lab.load_models("offline", baseline=folders["roberta"], train=SMALL_TRAIN, cache_dir=tmp_path,
                               verbose=False)
    cold_models = fresh()
    cold = lab.run_models(tweets, cold_models, cache_dir=tmp_path, progress=False)
    assert all(m.loaded for m in cold_models.values())
    warm_models = fresh()
    warm = lab.run_models(tweets, warm_models, cache_dir=tmp_path, progress=False)
    assert not any(m.loaded for m in warm_models.values())  # every prediction came from the cache
    pd.testing.assert_frame_equal(cold, warm)
    # Step 7 (generated cases, perturbations) asks about new texts: the model loads then, once
    out = warm_models["candidate"].predict(["a brand new tweet about trains"], progress=False)
    assert warm_models["candidate"].loaded and not warm_models["baseline"].loaded
    assert out["pred"].isin(lab.LABELS).all()


# --- issue: precomputed predictions are model outputs, never metadata -------------------------------

def test_precomputed_columns_are_not_metadata_and_not_discovered(write_csv):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(600):
        negated = i % 2 == 0
        label = ["negative", "neutral", "positive"][i % 3]
        other = ["negative", "neutral", "positive"][(i + 1) % 3]
        wrong = negated and rng.random() < 0.8  # the candidate fails on negation
        rows.append({"text": f"tweet {i} is {'not ' if negated else ''}fine", "label": label, "roberta": label,
                     "roberta_score": 0.9, "gpt2": other if wrong else label, "gpt2_score": 0.7,
                     "input_length": 10 + i % 7})
    tweets, _ = lab.load_tweets(write_csv(pd.DataFrame(rows).to_csv(index=False)), verbose=False)
    tweets = lab.add_slice_metadata(tweets)
    models = lab.load_models("offline", baseline="precomputed:roberta", candidate="precomputed:gpt2",
                             tweets=tweets, verbose=False)
    assert models["candidate"].columns_read == ("gpt2", "gpt2_score")
    df_long = lab.run_models(tweets, models, cache_dir=None, progress=False)
    assert not {"roberta", "roberta_score", "gpt2", "gpt2_score"} & set(df_long.columns)
    assert "input_length" in df_long.columns  # a real tweet column stays
    df_eval = lab.build_eval_table(df_long)
    found = lab.discover_slices(df_eval, target="regression")
    assert len(found) and found["slice"].str.contains("has_negation").any()
    assert not found["slice"].str.contains("roberta|gpt2").any()


def test_bundled_source_never_asks_the_hub(hub):
    tweets, _ = lab.load_tweets(source="bundled", hub_url=hub.url, load_dataset=tweet_eval_loader(), verbose=False)
    assert tweets.attrs["source"].endswith("tweets.csv") and hub.requests == 0
