"""Text datasets: strings tokenized by a tokenizer from a local folder into named tensors.

A text classifier from transformers takes token ids *and* an attention mask; padded ids
without the mask change its predictions. So texts are stored as the tokenizer's named
tensors (input_ids, attention_mask, and token_type_ids where the tokenizer makes them),
padded to the longest text (at most `max_length` tokens), next to the raw strings that the
UI shows. The tokenizer loads with `local_files_only=True`: nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from compresslens.data.inputs import TensorFields
from compresslens.errors import DataFormatError


def is_text_list(data: Any) -> bool:
    """A list or tuple of strings (not a single string)."""
    return (
        isinstance(data, list | tuple)
        and len(data) > 0
        and all(isinstance(item, str) for item in data)
    )


def load_tokenizer(path: str | Path) -> Any:
    """A tokenizer from a local folder (tokenizer.json / vocab files), never from a hub."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataFormatError(
            f"tokenizer {str(path)!r} is not a local folder; give the path of a saved "
            "tokenizer (save_pretrained), never a hub name: nothing is downloaded"
        )
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise DataFormatError(
            "text datasets need the transformers package: pip install 'compresslens[hf]'"
        ) from None
    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataFormatError(f"cannot load a tokenizer from {folder}: {exc}") from exc


def tokenize(texts: Sequence[str], tokenizer: Any, max_length: int = 128) -> TensorFields:
    """Token ids and masks of every text, padded to the longest (truncated at max_length)."""
    if max_length < 1:
        raise DataFormatError(f"max_length must be positive, got {max_length}")
    encoded = tokenizer(
        list(texts),
        padding="longest",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    return TensorFields({name: tensor.contiguous() for name, tensor in encoded.items()})


def tokenizer_description(path: str | Path, max_length: int) -> str:
    return f"tokenized by {Path(path).resolve()} (max_length {max_length})"
