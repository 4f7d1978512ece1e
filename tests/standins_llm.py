"""An offline stand-in for a hub chat/instruct model (e.g. Qwen/Qwen2.5-1.5B-Instruct), built from scratch.

``build_tiny_chat_lm(folder)`` writes a randomly initialised ``LlamaForCausalLM`` (hidden size 32, 2 layers)
and a byte-level BPE ``PreTrainedTokenizerFast`` (a few hundred tokens learnt here from an in-code corpus)
with ``save_pretrained``, so ``AutoTokenizer`` / ``AutoModelForCausalLM.from_pretrained(folder)`` load it by
the same code path as a hub model. The tokenizer carries a ChatML chat template (``<|im_start|>user ...``,
as Qwen's) unless ``chat_template=None``. The model's config has no ``eos_token_id``, so generation always
runs to ``max_new_tokens``; its text is random: it tests the generation code path, never its quality.
"""
from __future__ import annotations

from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CORPUS = [
    "I am stress-testing a tweet sentiment classifier (labels: negative, neutral, positive).",
    "1. finally home after a 12 hour shift 😩😩😩 | negative", "2. new kicks just arrived 😍🔥🔥 | positive",
    "3. coffee run before the 9am lecture ☕📚 | neutral", "@user the match tonight 👀⚽ who's watching?",
    "Write 10 new, realistic tweets that test this hypothesis. Rules: every tweet fits the slice.",
    "links as http://t.co/ plus 10 random letters, hashtags and emoji only where natural.",
]


def build_tiny_chat_lm(folder: str | Path, *, chat_template: str | None = CHATML_TEMPLATE, seed: int = 0) -> Path:
    """Write the tiny chat LM and its tokenizer to ``folder``; return the folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(_CORPUS * 3, trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        additional_special_tokens=["<|im_start|>"])
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None, eos_token_id=None)
    with torch.random.fork_rng(devices=[]):  # random weights without touching the caller's RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = None
    model.generation_config.bos_token_id = None
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
