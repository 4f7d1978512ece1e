"""A stand-in for a hub sentiment classifier: a tiny random-weight BERT with a WordPiece tokenizer and TweetEval's
three labels, written with ``save_pretrained`` so ``AutoModelForSequenceClassification.from_pretrained(folder)``
loads it by the same code path as a hub model. Its predictions are random but deterministic."""
from __future__ import annotations

from pathlib import Path

_WORDS = ("i love it the movie is not good bad great happy sad day so this that was were a an and but "
          "sarah london aisha tokyo game new phone #news @user http t co").split()


def build_tiny_classifier(folder: str | Path, seed: int = 0) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(_WORDS), *"abcdefghijklmnopqrstuvwxyz"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128, num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertForSequenceClassification(config)
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
