"""A byte-level BPE tokenizer trained here: exact round trips, AutoTokenizer reload, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from compresslens.data.tokenizer_training import END_OF_TEXT, save_tokenizer, train_byte_bpe
from compresslens.errors import DataFormatError

transformers = pytest.importorskip("transformers", reason="tokenizer training needs it")

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "A fool and his money are soon parted.",
    "To be or not to be, that is the question.",
] * 20


def test_any_text_round_trips_even_bytes_never_seen_in_training() -> None:
    tokenizer = train_byte_bpe(TEXTS, vocab_size=300)
    unseen = "Zebras — naïve 日本 ✓"
    ids = tokenizer(unseen, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == unseen


def test_the_vocabulary_has_the_requested_size_and_merges_frequent_words() -> None:
    tokenizer = train_byte_bpe(TEXTS, vocab_size=320)
    assert len(tokenizer) == 320
    assert len(tokenizer("the question")["input_ids"]) < len("the question")
    assert tokenizer.eos_token == tokenizer.pad_token == END_OF_TEXT


def test_the_same_text_trains_the_same_vocabulary() -> None:
    assert train_byte_bpe(TEXTS, 300).get_vocab() == train_byte_bpe(TEXTS, 300).get_vocab()


def test_a_saved_tokenizer_reloads_with_auto_tokenizer_and_encodes_alike(tmp_path: Path) -> None:
    tokenizer = train_byte_bpe(TEXTS, vocab_size=300)
    save_tokenizer(tokenizer, tmp_path / "tok")
    reloaded = transformers.AutoTokenizer.from_pretrained(tmp_path / "tok", local_files_only=True)
    text = "A fool and his money, soon."
    assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert reloaded.eos_token_id == tokenizer.eos_token_id


def test_too_small_a_vocabulary_or_no_text_is_refused() -> None:
    with pytest.raises(DataFormatError, match="at least 257"):
        train_byte_bpe(TEXTS, vocab_size=100)
    with pytest.raises(DataFormatError, match="no text"):
        train_byte_bpe([], vocab_size=300)
