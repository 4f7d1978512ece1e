"""The offline stand-ins in tests/standins.py reproduce the hub models' and tweet_eval's behaviour that matters."""
import hashlib

import pytest

import standins

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

TEXTS = ["I love it 😍", "worst day ever!!! 😡 #fail", "@user the bus leaves at noon http"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every model stand-in, built once for this module: {name: folder}."""
    return standins.build_all(tmp_path_factory.mktemp("standins"))


def _load(folder):
    tok = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
    return tok, model.eval()


def _unk_free(tok, text):
    ids = tok(text, add_special_tokens=False)["input_ids"]
    return bool(ids) and tok.unk_token_id not in ids


@pytest.mark.parametrize("name, model_class, tokenizer_stem, id2label", [
    ("roberta", "RobertaForSequenceClassification", "Roberta", {0: "negative", 1: "neutral", 2: "positive"}),
    ("gpt2", "GPT2ForSequenceClassification", "GPT2", {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}),
    ("two_label", "DistilBertForSequenceClassification", "DistilBert", {0: "NEGATIVE", 1: "POSITIVE"}),
    ("wordpiece", "BertForSequenceClassification", "Bert", {0: "negative", 1: "neutral", 2: "positive"}),
])
def test_auto_classes_load_them_like_the_hub_models(built, name, model_class, tokenizer_stem, id2label):
    tok, model = _load(built[name])
    assert type(model).__name__ == model_class
    # transformers 5.0 (Colab's) loads some families as its generic fast tokenizer, "TokenizersBackend"
    assert type(tok).__name__ in (f"{tokenizer_stem}Tokenizer", f"{tokenizer_stem}TokenizerFast", "TokenizersBackend")
    assert model.config.id2label == id2label
    assert model.config.label2id == {v: k for k, v in id2label.items()}
    assert model.config.hidden_size == standins.HIDDEN and model.config.num_hidden_layers == standins.LAYERS
    if tok.pad_token is None:  # the GPT-2 stand-in: what the lab does before batching
        tok.pad_token = tok.eos_token
        model.config.pad_token_id = tok.pad_token_id
    batch = tok(TEXTS, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**batch).logits
    assert tuple(logits.shape) == (len(TEXTS), len(id2label))
    assert torch.isfinite(logits).all()


def test_gpt2_standin_has_no_pad_token(built):
    tok, model = _load(built["gpt2"])
    assert tok.pad_token is None and tok.pad_token_id is None
    assert model.config.pad_token_id is None
    assert tok.eos_token == tok.bos_token == tok.unk_token == "<|endoftext|>"
    assert tok.eos_token_id == len(tok) - 1  # last id, as in GPT-2 (50256)
    assert tok("hello there")["input_ids"][0] != tok.bos_token_id  # GPT-2 adds no special tokens


def test_gpt2_batching_fails_until_the_code_sets_a_pad_token(built):
    tok, model = _load(built["gpt2"])
    with pytest.raises(ValueError, match="pad"):
        tok(TEXTS, padding=True, return_tensors="pt")
    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tok, device="cpu")
    with pytest.raises(ValueError, match="pad_token"):
        pipe(TEXTS, batch_size=2)
    same_length = tok(["a b c", "d e f"], return_tensors="pt")
    with pytest.raises(ValueError, match="padding token"), torch.inference_mode():
        model(**same_length)  # GPT2ForSequenceClassification: batch > 1 needs config.pad_token_id

    tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    out = transformers.pipeline("text-classification", model=model, tokenizer=tok, device="cpu")(TEXTS, batch_size=2)
    assert [set(o) for o in out] == [{"label", "score"}] * len(TEXTS)
    assert {o["label"] for o in out} <= {"LABEL_0", "LABEL_1", "LABEL_2"}


def test_padded_batch_matches_one_at_a_time_once_the_pad_token_is_set(built):
    """Padding must not change a tweet's logits (attention mask + last-non-pad-token pooling)."""
    tok, model = _load(built["gpt2"])
    tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    with torch.inference_mode():
        batched = model(**tok(TEXTS, padding=True, return_tensors="pt")).logits
        single = torch.cat([model(**tok([t], return_tensors="pt")).logits for t in TEXTS])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["roberta", "gpt2"])
@pytest.mark.parametrize("text", ["😍", "🏳️‍🌈", "love it 🥹🫠", "naïve café", "日本語", "ℍ𝕖𝕝𝕝𝕠"])
def test_byte_level_tokenizers_never_produce_unknown(built, name, text):
    tok, _ = _load(built[name])
    assert tok.unk_token_id is not None
    assert _unk_free(tok, text)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text  # byte-level BPE round-trips any text


def test_roberta_standin_special_tokens_as_roberta_base(built):
    tok, model = _load(built["roberta"])
    assert [tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id] == [0, 1, 2, 3]
    assert tok.mask_token_id == len(tok) - 1
    assert model.config.pad_token_id == 1 and model.config.max_position_embeddings == 514
    assert tok.model_max_length == 512
    ids = tok("I love it 😍")["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id


@pytest.mark.parametrize("name", ["wordpiece", "two_label"])
def test_wordpiece_tokenizers_map_emoji_to_unk(built, name):
    tok, _ = _load(built[name])
    assert tok("😍", add_special_tokens=False)["input_ids"] == [tok.unk_token_id]
    assert tok.convert_ids_to_tokens(tok("I love it 😍")["input_ids"]) == ["[CLS]", "i", "love", "it", "[UNK]",
                                                                          "[SEP]"]
    assert not any(ord(ch) > 127 for token in tok.get_vocab() for ch in token)
    assert _unk_free(tok, "I love this so much")  # ordinary words are known


def test_builds_are_deterministic(built, tmp_path):
    again = standins.build_all(tmp_path)
    for name, folder in built.items():
        for path in sorted(folder.iterdir()):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest == hashlib.sha256((again[name] / path.name).read_bytes()).hexdigest(), (name, path.name)


def test_builders_leave_the_global_torch_rng_alone(tmp_path):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    standins.build_two_label(tmp_path / "m")
    torch.testing.assert_close(torch.rand(3), expected)


def test_hub_layout_files_are_there(built):
    for name, files in {"roberta": ["vocab.json", "merges.txt"], "gpt2": ["vocab.json", "merges.txt"],
                        "two_label": ["vocab.txt"], "wordpiece": ["vocab.txt"]}.items():
        for f in ["config.json", "tokenizer_config.json", *files]:
            assert (built[name] / f).is_file(), (name, f)
        assert any(built[name].glob("*.safetensors")) or (built[name] / "pytorch_model.bin").is_file()


def test_tweet_eval_dataset_has_the_real_features():
    datasets = pytest.importorskip("datasets")
    ds = standins.build_tweet_eval_dataset(n_per_split=12)
    assert isinstance(ds, datasets.DatasetDict)
    assert list(ds) == ["train", "validation", "test"]
    for split in ds.values():
        assert split.features["text"] == datasets.Value("string")
        assert isinstance(split.features["label"], datasets.ClassLabel)
        assert split.features["label"].names == ["negative", "neutral", "positive"]
        assert split.num_rows == 12
        assert set(split["label"]) == {0, 1, 2}
        assert all(isinstance(t, str) and t.strip() for t in split["text"])
    assert ds["test"].features["label"].int2str(2) == "positive"
    frame = ds["test"].to_pandas()  # what the lab's loader does next
    assert list(frame.columns) == ["text", "label"] and frame["label"].dtype.kind == "i"


def test_tweet_eval_dataset_is_deterministic_and_tweet_like():
    a = standins.build_tweet_eval_dataset(n_per_split={"test": 300})
    b = standins.build_tweet_eval_dataset(n_per_split={"test": 300})
    assert list(a) == ["test"] and a["test"]["text"] == b["test"]["text"]
    texts = a["test"]["text"]
    assert any("@user" in t for t in texts) and any(any(ord(ch) > 0x2000 for ch in t) for t in texts)


def test_tweet_eval_dataset_from_given_texts():
    ds = standins.build_tweet_eval_dataset(n_per_split=None, texts=[("so good", "positive"), ("meh", 1), ("bad", 0)])
    assert ds["validation"]["text"] == ["so good", "meh", "bad"] and ds["validation"]["label"] == [2, 1, 0]
    ds = standins.build_tweet_eval_dataset(n_per_split=4, texts=["a", "b"])
    assert ds["train"]["text"] == ["a", "b", "a", "b"] and ds["train"]["label"] == [0, 1, 0, 1]
    with pytest.raises(ValueError):
        standins.build_tweet_eval_dataset(texts=[("x", "joy")])
    with pytest.raises(ValueError):
        standins.build_tweet_eval_dataset(n_per_split={"dev": 3})
