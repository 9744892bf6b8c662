"""A byte-level BPE tokenizer trained here on local text, saved for AutoTokenizer.

No pretrained tokenizer can be downloaded, so the demo language model gets one trained on
its own training split (byte-level: every byte sequence encodes, none maps to <unk>). It is
saved as transformers' PreTrainedTokenizerFast, which AutoTokenizer loads from the folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from compresslens.errors import DataFormatError

END_OF_TEXT = "<|endoftext|>"  # separates entries; also the padding token
MIN_VOCAB_SIZE = 257  # the 256 bytes and the end-of-text token


def train_byte_bpe(texts: Sequence[str], vocab_size: int = 2048) -> Any:
    """A PreTrainedTokenizerFast with `vocab_size` tokens learned from `texts`."""
    if vocab_size < MIN_VOCAB_SIZE:
        raise DataFormatError(
            f"a byte-level vocabulary needs at least {MIN_VOCAB_SIZE} tokens, got {vocab_size}"
        )
    if not texts:
        raise DataFormatError("cannot train a tokenizer on no text")
    try:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        from transformers import PreTrainedTokenizerFast
    except ImportError:
        raise DataFormatError(
            "training a tokenizer needs transformers and tokenizers: pip install 'compresslens[hf]'"
        ) from None
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        unk_token=END_OF_TEXT,
        pad_token=END_OF_TEXT,
    )


def save_tokenizer(tokenizer: Any, folder: str | Path) -> Path:
    """Write the tokenizer's files into `folder` (created if missing)."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    return path
