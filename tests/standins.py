"""Offline stand-ins for the course's Hugging Face hub models and data set, built from scratch.

No machine that runs the tests reaches the hub, so these builders write tiny, randomly initialised
models (hidden size 32, 2 layers, vocabularies of a few hundred tokens made here from an in-code
corpus) into a folder with ``save_pretrained``. ``transformers.AutoTokenizer.from_pretrained(folder)``
and ``AutoModelForSequenceClassification.from_pretrained(folder)`` then load them by the same code
path, the same classes and the same config/tokenizer conventions as the hub models. The weights
are random, so the *predictions* mean nothing: the stand-ins reproduce loading, tokenising,
padding, batching, label names and output shapes, not accuracy.

What each builder stands in for, and the real behaviour it reproduces:

``build_roberta_sentiment``
    ``cardiffnlp/twitter-roberta-base-sentiment-latest``: ``RobertaForSequenceClassification``,
    byte-level BPE tokenizer (``RobertaTokenizer``, vocab.json + merges.txt) with ``<s>``=0,
    ``<pad>``=1, ``</s>``=2, ``<unk>``=3 and ``<mask>`` last, as in roberta-base;
    ``pad_token_id=1``, ``max_position_embeddings=514``, ``model_max_length=512``;
    ``id2label={0: 'negative', 1: 'neutral', 2: 'positive'}``. Byte-level BPE never produces
    ``<unk>``: an emoji such as '😍' that was never seen in training still encodes, as byte tokens.

``build_gpt2_sentiment``
    ``LYTinn/finetuning-sentiment-model-tweet-gpt2``: ``GPT2ForSequenceClassification``, GPT-2
    byte-level BPE tokenizer whose only special token is ``<|endoftext|>`` (bos = eos = unk, last
    id) and which has NO pad token; ``config.pad_token_id`` is None; ``id2label`` is the generic
    ``LABEL_0..LABEL_2``. Reproduces the classic failures: ``tokenizer(..., padding=True)`` raises
    "Asking to pad but the tokenizer does not have a padding token", a ``text-classification``
    pipeline refuses to batch, and the model refuses batches > 1 ("Cannot handle batch sizes > 1
    if no padding token is defined") until the code sets ``tokenizer.pad_token =
    tokenizer.eos_token`` and ``model.config.pad_token_id = tokenizer.pad_token_id``.

``build_two_label``
    a two-label model such as ``distilbert-base-uncased-finetuned-sst-2-english``:
    ``DistilBertForSequenceClassification``, lower-casing WordPiece tokenizer,
    ``id2label={0: 'NEGATIVE', 1: 'POSITIVE'}`` (no neutral class). Its vocabulary has no emoji,
    so, as with the real uncased BERT vocabulary, a word with an emoji in it becomes ``[UNK]``.

``build_wordpiece_sentiment``
    a BERT-like three-label model (``BertForSequenceClassification``, lower-casing WordPiece,
    labels negative/neutral/positive) whose vocabulary has no emoji, so '😍' maps to ``[UNK]``;
    useful to contrast with the byte-level tokenizers above. (Both WordPiece vocabularies are made
    by a fixed rule from the corpus, not trained: the ``tokenizers`` WordPiece trainer breaks ties
    differently from one process to the next.)

``build_tweet_eval_dataset``
    ``load_dataset('cardiffnlp/tweet_eval', 'sentiment')``: a ``DatasetDict`` with splits
    train/validation/test and the real features ``text: Value('string')``,
    ``label: ClassLabel(names=['negative', 'neutral', 'positive'])``, filled with tweet-like
    sentences written here (``@user`` mentions as TweetEval anonymises them, hashtags, links,
    emoji, negation, elongation, all caps). The real split sizes are in ``TWEET_EVAL_SPLIT_SIZES``.

Every builder is deterministic (fixed seeds; building twice gives byte-identical weight and
tokenizer files) and fast: all five together take a few seconds on 2 cores, most of it the first
import of torch/transformers. Heavy imports happen inside the builders, so importing this module
is cheap.
"""
from __future__ import annotations

import json
import random
import string
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

SEED = 1234
TWEET_EVAL_LABELS = ["negative", "neutral", "positive"]
TWEET_EVAL_SPLIT_SIZES = {"train": 45_615, "validation": 2_000, "test": 12_284}  # the real row counts

# Tiny architecture shared by all stand-ins.
HIDDEN = 32
LAYERS = 2
HEADS = 2
INTERMEDIATE = 64
BPE_VOCAB = 800
WORDPIECE_VOCAB = 1000

# Tweet-like sentences written for these stand-ins: they train the tokenizers and seed the data set.
CORPUS = [
    "I love this so much 😍😍 #blessed",
    "@user what a great day at the beach ☀️🌊",
    "best concert EVER!!! 🔥🔥🔥 thank you @user",
    "this is awful, worst service ever 😡 #fail",
    "I hate mondays so much 😩",
    "ugh my phone died again 🙄 http",
    "the meeting is at 3pm in room 204",
    "bus leaves at noon from the main station",
    "new episode airs friday night on channel 4 📺",
    "so happy for you guys 🥳🎉 congrats!!",
    "terrible terrible idea, not doing that again 👎",
    "store opens at 9 tomorrow",
    "Not bad at all, actually pretty good 👍",
    "not good. not good at all #disappointed",
    "sooooo tired of waiting for this update 😤",
    "can't wait for the weekend!!! 😂🙌",
    "@user @user see you at the game tonight ⚽",
    "Watching the debate live tonight http",
    "lol that was hilarious 😂😂😂",
    "rip to my sleep schedule 💀",
    "thank you so much for the birthday wishes ❤️💕",
    "the traffic on the highway is insane right now 🚗🚗",
    "Just finished my first marathon!!! 🏃‍♀️💪",
    "why is the wifi always down when I need it",
    "new phone who dis 📱",
    "Apple announces new iPhone on September 12 http",
    "cannot believe they cancelled the show 💔 #sad",
    "GREAT JOB TEAM!!! 🏆",
    "meh, the movie was ok I guess 🤷",
    "worst. day. ever. 😭",
    "happy birthday @user hope it is amazing 🎂🎈",
    "the election results will be announced tomorrow",
    "I'm so proud of my little sister 🥹👏",
    "this coffee tastes like burnt plastic ☕🤢",
    "It might rain on sunday, bring an umbrella ☔",
    "omg yesss we won 🎉🎉 #champions",
    "disgusted by the way they treated the fans 😠",
    "Reading a book by the fire tonight 📚🔥",
    "the new album drops at midnight 🎶",
    "feeling blessed and grateful today 🙏✨",
    "naïve café résumé — über cool 🤓",
    "日本 に 行きたい ✈️",
    "100% agree with @user on this one 💯",
    "don't you dare spoil the ending 🤫",
    "coolest thing I've seen all year 😎🤩",
]

_POSITIVE_WORDS = ["love", "great", "amazing", "awesome", "happy", "best", "beautiful", "proud", "fun", "excited"]
_NEGATIVE_WORDS = ["hate", "awful", "terrible", "worst", "sad", "angry", "boring", "broken", "annoying", "gross"]
_NEUTRAL_FACTS = ["the game starts at 7", "the store opens on monday", "new episode airs friday",
                  "meeting moved to room 4", "the bus is late today", "tickets go on sale tomorrow",
                  "the update comes out next week", "the debate is tonight", "school starts in august"]
_TOPICS = ["this phone", "the new album", "the movie", "my job", "this weather", "the concert", "the game",
           "the team", "this song", "the update", "the coffee here", "the show"]
_POS_EMOJI = ["😍", "🥳", "❤️", "🔥", "👍", "😂", "🙌", "✨", "💯", "🎉"]
_NEG_EMOJI = ["😡", "😩", "🙄", "👎", "😭", "💔", "🤢", "😤", "😠", "💀"]
_NEU_EMOJI = ["📺", "📅", "🕒", "⚽", "📚", "🚌", ""]


def _write_vocab_and_merges(tokenizer, folder: Path, append: Sequence[str] = ()) -> None:
    """Save a byte-level BPE model as vocab.json + merges.txt, appending ``append`` tokens last."""
    tokenizer.save_model(str(folder))
    vocab_path = folder / "vocab.json"
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    for token in append:
        vocab[token] = len(vocab)
    vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")


def _train_byte_level_bpe(special_tokens: Sequence[str]):
    from tokenizers import ByteLevelBPETokenizer

    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    # The trainer starts from the 256-symbol byte alphabet, so any text (emoji included) encodes.
    tok.train_from_iterator(CORPUS * 2, vocab_size=BPE_VOCAB, min_frequency=2,
                            special_tokens=list(special_tokens), show_progress=False)
    return tok


def _write_wordpiece_vocab(folder: Path) -> None:
    """Write a lower-case WordPiece vocab.txt built from the ASCII-only part of the corpus (no emoji).

    Built, not trained: the ``tokenizers`` WordPiece trainer breaks frequency ties differently from
    one process to the next, so its vocabulary (hence the model's size) would not be reproducible.
    Like BERT's: special tokens, every ASCII letter/digit/punctuation mark alone and as a ``##``
    continuation, a few common suffixes, then the corpus words, in a fixed order.
    """
    import re

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    pieces = ["##" + c for c in string.ascii_lowercase + string.digits]
    suffixes = ["##s", "##es", "##ed", "##ing", "##ly", "##er", "##est", "##n't", "##'s"]
    ascii_corpus = " ".join("".join(ch for ch in line if ord(ch) < 128) for line in CORPUS).lower()
    words = sorted(set(re.findall(r"[a-z0-9]+", ascii_corpus)) - set(chars))
    vocab = list(dict.fromkeys(specials + chars + pieces + suffixes + words))[:WORDPIECE_VOCAB]
    assert all(ord(ch) < 128 for token in vocab for ch in token), "the WordPiece vocab must stay ASCII-only"
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")


def _init_model(model_class, config, seed: int):
    """Instantiate ``model_class(config)`` with seeded random weights, leaving the global RNG alone."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    return model.eval()


def _vocab_files(vocab_dir: Path) -> dict[str, bytes]:
    return {name: (vocab_dir / name).read_bytes() for name in ("vocab.json", "merges.txt", "vocab.txt")
            if (vocab_dir / name).is_file()}


def _save(model, tokenizer, folder: Path, vocab_files: Mapping[str, bytes]) -> Path:
    """save_pretrained both, then add the raw vocabulary files (vocab.json + merges.txt, or vocab.txt).

    Hub repos carry those files (transformers 4.x writes them next to tokenizer.json; 5.x writes
    only tokenizer.json), and ``use_fast=False`` or an older transformers can load from them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    for name, data in vocab_files.items():
        if not (folder / name).exists():
            (folder / name).write_bytes(data)
    return folder


def build_roberta_sentiment(folder, seed: int = SEED) -> Path:
    """Write a tiny stand-in for ``cardiffnlp/twitter-roberta-base-sentiment-latest`` into ``folder``.

    RobertaForSequenceClassification with random weights and a byte-level BPE ``RobertaTokenizer``
    (vocab.json/merges.txt trained here; '😍' encodes to byte tokens, never ``<unk>``);
    ``id2label={0: 'negative', 1: 'neutral', 2: 'positive'}``. Returns the folder as a Path.
    """
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizer

    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        # roberta-base's order: <s>=0, <pad>=1, </s>=2, <unk>=3 ... <mask> is the last id.
        _write_vocab_and_merges(_train_byte_level_bpe(["<s>", "<pad>", "</s>", "<unk>"]), Path(tmp),
                                append=["<mask>"])
        tokenizer = RobertaTokenizer.from_pretrained(tmp, model_max_length=512)
        vocab_files = _vocab_files(Path(tmp))
    config = RobertaConfig(
        vocab_size=len(tokenizer), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    return _save(_init_model(RobertaForSequenceClassification, config, seed), tokenizer, folder, vocab_files)


def build_gpt2_sentiment(folder, seed: int = SEED) -> Path:
    """Write a tiny stand-in for ``LYTinn/finetuning-sentiment-model-tweet-gpt2`` into ``folder``.

    GPT2ForSequenceClassification with random weights; GPT-2 byte-level BPE tokenizer whose only
    special token is ``<|endoftext|>`` (last id) and which has NO pad token; ``config.pad_token_id``
    is None; ``id2label`` is ``LABEL_0``, ``LABEL_1``, ``LABEL_2``. Returns the folder as a Path.
    """
    from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2Tokenizer

    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        _write_vocab_and_merges(_train_byte_level_bpe([]), Path(tmp), append=["<|endoftext|>"])
        tokenizer = GPT2Tokenizer.from_pretrained(tmp, model_max_length=1024)
        vocab_files = _vocab_files(Path(tmp))
    if tokenizer.pad_token is not None:  # some versions may default one; the hub tokenizer has none
        tokenizer.pad_token = None
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=1024, n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS,
        n_inner=INTERMEDIATE, bos_token_id=eos, eos_token_id=eos, pad_token_id=None,
        id2label={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
        label2id={"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2},
    )
    return _save(_init_model(GPT2ForSequenceClassification, config, seed), tokenizer, folder, vocab_files)


def build_two_label(folder, seed: int = SEED) -> Path:
    """Write a tiny two-label stand-in (as distilbert-base-uncased-finetuned-sst-2-english) into ``folder``.

    DistilBertForSequenceClassification with random weights, lower-casing WordPiece tokenizer
    without emoji in its vocabulary, ``id2label={0: 'NEGATIVE', 1: 'POSITIVE'}``. Returns the folder.
    """
    from transformers import DistilBertConfig, DistilBertForSequenceClassification, DistilBertTokenizer

    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        _write_wordpiece_vocab(Path(tmp))
        tokenizer = DistilBertTokenizer.from_pretrained(tmp, do_lower_case=True, model_max_length=512)
        vocab_files = _vocab_files(Path(tmp))
    config = DistilBertConfig(
        vocab_size=len(tokenizer), dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS, hidden_dim=INTERMEDIATE,
        max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
        id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    return _save(_init_model(DistilBertForSequenceClassification, config, seed), tokenizer, folder, vocab_files)


def build_wordpiece_sentiment(folder, seed: int = SEED) -> Path:
    """Write a tiny BERT-like three-label model whose WordPiece vocab has no emoji into ``folder``.

    BertForSequenceClassification with random weights, lower-casing WordPiece tokenizer (emoji such
    as '😍' map to ``[UNK]``), ``id2label={0: 'negative', 1: 'neutral', 2: 'positive'}``.
    Returns the folder as a Path.
    """
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        _write_wordpiece_vocab(Path(tmp))
        tokenizer = BertTokenizer.from_pretrained(tmp, do_lower_case=True, model_max_length=512)
        vocab_files = _vocab_files(Path(tmp))
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    return _save(_init_model(BertForSequenceClassification, config, seed), tokenizer, folder, vocab_files)


def _generated_tweet(rng: random.Random, label: int) -> str:
    mention = rng.choice(["@user ", "", "", "@user @user "])
    tail = rng.choice(["", "", " http", " #tbt", " #mondays", " lol"])
    topic = rng.choice(_TOPICS)
    if label == 2:
        word = rng.choice(_POSITIVE_WORDS)
        body = rng.choice([f"I {word} {topic}", f"{topic} is {word}", f"sooo {word} today",
                           f"{word.upper()}!!! {topic}", f"not bad, {topic} was {word}"])
        emoji = rng.choice(_POS_EMOJI) * rng.randint(0, 3)
    elif label == 0:
        word = rng.choice(_NEGATIVE_WORDS)
        body = rng.choice([f"I {word} {topic}", f"{topic} is {word}", f"ugh so {word}",
                           f"{word.upper()} {topic}!!", f"{topic} is not good, {word}"])
        emoji = rng.choice(_NEG_EMOJI) * rng.randint(0, 3)
    else:
        body = rng.choice(_NEUTRAL_FACTS + [f"{topic} comes out on {rng.choice(['monday', 'friday', 'may 3'])}"])
        emoji = rng.choice(_NEU_EMOJI)
    return f"{mention}{body} {emoji}{tail}".strip()


def _as_rows(texts: Iterable) -> list[tuple[str, int]]:
    rows = []
    for i, item in enumerate(texts):
        if isinstance(item, str):
            rows.append((item, i % 3))
            continue
        text, label = item
        if isinstance(label, str) and label.strip().lower() in TWEET_EVAL_LABELS:
            label = TWEET_EVAL_LABELS.index(label.strip().lower())
        if isinstance(label, bool) or label not in (0, 1, 2):
            raise ValueError(f"label {label!r} of {text!r} is not 0/1/2 or negative/neutral/positive")
        rows.append((str(text), int(label)))
    if not rows:
        raise ValueError("texts is empty")
    return rows


def build_tweet_eval_dataset(n_per_split: int | Mapping[str, int] | None = 24, texts: Iterable | None = None,
                             seed: int = SEED):
    """Return a ``datasets.DatasetDict`` shaped like ``load_dataset('cardiffnlp/tweet_eval', 'sentiment')``.

    Splits train/validation/test; features ``text: Value('string')`` and
    ``label: ClassLabel(names=['negative', 'neutral', 'positive'])``.
    ``n_per_split``: rows in each split (an int, or a dict such as ``TWEET_EVAL_SPLIT_SIZES`` for
    the real sizes; None means ``len(texts)``, or 24 without texts). ``texts``: optional rows to use
    instead of generated tweets, either strings (labels then cycle 0, 1, 2) or ``(text, label)``
    pairs with label 0/1/2 or its name; each split repeats them, in order, up to its size.
    Without ``texts`` the rows are tweet-like sentences generated from a seeded RNG, labels balanced.
    """
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    rows = _as_rows(texts) if texts is not None else None
    if n_per_split is None:
        n_per_split = len(rows) if rows is not None else 24
    sizes = dict(n_per_split) if isinstance(n_per_split, Mapping) else dict.fromkeys(TWEET_EVAL_SPLIT_SIZES,
                                                                                    int(n_per_split))
    unknown = set(sizes) - set(TWEET_EVAL_SPLIT_SIZES)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; tweet_eval has {list(TWEET_EVAL_SPLIT_SIZES)}")
    features = Features({"text": Value("string"), "label": ClassLabel(names=TWEET_EVAL_LABELS)})
    splits = {}
    for k, (split, n) in enumerate(sizes.items()):
        if rows is not None:
            chosen = [rows[i % len(rows)] for i in range(n)]
        else:
            rng = random.Random(seed * 31 + k)
            chosen = [(_generated_tweet(rng, i % 3), i % 3) for i in range(n)]
            rng.shuffle(chosen)
        splits[split] = Dataset.from_dict({"text": [t for t, _ in chosen], "label": [lab for _, lab in chosen]},
                                          features=features, split=split)
    return DatasetDict(splits)


BUILDERS = {
    "roberta": build_roberta_sentiment,
    "gpt2": build_gpt2_sentiment,
    "two_label": build_two_label,
    "wordpiece": build_wordpiece_sentiment,
}


def build_all(root) -> dict[str, Path]:
    """Build every model stand-in into its own subfolder of ``root``; returns {name: folder}."""
    root = Path(root)
    return {name: build(root / name) for name, build in BUILDERS.items()}


if __name__ == "__main__":  # python tests/standins.py [folder]: build everything and print the timings
    import sys
    import time

    t0 = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401
    t_import = time.perf_counter() - t0
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="standins-"))
    print(f"imports (torch, transformers): {t_import:.2f} s")
    for name, build in BUILDERS.items():
        t = time.perf_counter()
        build(out / name)
        print(f"{name:10s} {time.perf_counter() - t:.2f} s -> {out / name}")
    t = time.perf_counter()
    ds = build_tweet_eval_dataset()
    print(f"{'dataset':10s} {time.perf_counter() - t:.2f} s ({ {k: len(v) for k, v in ds.items()} })")
    print(f"total {time.perf_counter() - t0:.2f} s")
