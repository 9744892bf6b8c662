"""A tiny causal LM with its own byte-level tokenizer in one folder, and the text it reads:
what add_token_corpus, add-corpus and the LM evaluation tests register (made in seconds)."""

from __future__ import annotations

from pathlib import Path

import torch

ENTRIES = [
    "The quick brown fox jumps over the lazy dog.",
    "A journey of a thousand miles begins with a single step.",
    "To be, or not to be: that is the question.",
    "All that glitters is not gold.",
    "Brevity is the soul of wit.",
]


def save_corpus_lm(folder: Path, context: int = 64) -> Path:
    """A 2-layer Llama over a byte-level BPE vocabulary trained on ENTRIES (tokenizer saved
    next to the model, as the demo LM's folder)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from compresslens.data.tokenizer_training import save_tokenizer, train_byte_bpe

    tokenizer = train_byte_bpe(ENTRIES * 4, vocab_size=300)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=context,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    save_tokenizer(tokenizer, folder)
    return folder
