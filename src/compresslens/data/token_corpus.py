"""A held-out text as a token dataset: one instance per predicted token of one token stream.

Why token positions as instances: every per-instance analysis (agreement, flips, per-class,
subgroups) then works on a language model unchanged. The stream is
[sep] entry₀ [sep] entry₁ [sep] …, so the first token of every entry is predicted after a
separator, as in training; instance i predicts s[i+1] from s[..i] (inputs = s[0:T], labels =
s[1:T+1]), with attributes "entry" (the entry the predicted token belongs to; a separator
belongs to the entry it ends) and "position" (its index within that entry, 0 = the first
token after the separator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from compresslens.errors import DataFormatError

TOKEN_ATTRIBUTES = ("entry", "position")


@dataclass(frozen=True)
class TokenCorpus:
    """inputs s[0:T] and labels s[1:T+1] (int64) with each predicted token's entry/position."""

    inputs: torch.Tensor
    labels: torch.Tensor
    entry: np.ndarray
    position: np.ndarray

    @property
    def attributes(self) -> dict[str, np.ndarray]:
        return {"entry": self.entry, "position": self.position}


def token_corpus(entries: Sequence[Sequence[int]], separator_id: int) -> TokenCorpus:
    """The dataset of the stream [sep] e₀ [sep] e₁ [sep] … of already encoded entries."""
    if not entries:
        raise DataFormatError("a token corpus needs at least one entry")
    stream, entry, position = [int(separator_id)], [], []
    for index, ids in enumerate(entries):
        tokens = [int(t) for t in ids] + [int(separator_id)]
        stream.extend(tokens)
        entry.extend([index] * len(tokens))
        position.extend(range(len(tokens)))
    ids = torch.tensor(stream, dtype=torch.int64)
    return TokenCorpus(
        inputs=ids[:-1].clone(),
        labels=ids[1:].clone(),
        entry=np.asarray(entry, dtype=np.int64),
        position=np.asarray(position, dtype=np.int64),
    )


def check_token_stream_arrays(inputs: Any, labels: torch.Tensor) -> None:
    """Refuse token-dataset arrays that are not one stream: 1-D ids with labels[i] = inputs[i+1]."""
    if not isinstance(inputs, torch.Tensor) or inputs.ndim != 1:
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise DataFormatError(
            f"a token dataset's inputs are one token stream [T] of ids, got {shape}"
        )
    if inputs.dtype.is_floating_point or inputs.dtype == torch.bool:
        raise DataFormatError(f"token ids must be integers, got {inputs.dtype}")
    if int(inputs.min()) < 0:
        raise DataFormatError(f"token ids must be non-negative, got {int(inputs.min())}")
    if not torch.equal(inputs[1:].to(torch.int64), labels[:-1]):
        raise DataFormatError(
            "a token dataset's labels must be its inputs shifted by one (labels[i] = inputs[i+1]):"
            " instance i predicts the next token of one stream"
        )


def separator_token_id(tokenizer: Any, separator: str | None) -> int:
    """The id of `separator` in the tokenizer's vocabulary, else its eos token's id."""
    if separator is None:
        found = getattr(tokenizer, "eos_token_id", None)
        if found is None:
            raise DataFormatError(
                "the tokenizer has no end-of-text (eos) token; pass separator=<a token of it>"
            )
        return int(found)
    found = tokenizer.convert_tokens_to_ids(separator)
    unknown = getattr(tokenizer, "unk_token_id", None)
    if found is None or (found == unknown and separator != getattr(tokenizer, "unk_token", None)):
        raise DataFormatError(f"separator {separator!r} is not one token of the tokenizer")
    return int(found)


def encode_entries(texts: Sequence[str], tokenizer: Any) -> list[list[int]]:
    """Each text's token ids, without special tokens (the separator is added between them)."""
    if isinstance(texts, str) or not texts or not all(isinstance(t, str) for t in texts):
        raise DataFormatError("a token corpus is a non-empty list of strings (its entries)")
    return [list(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


def vocabulary_names(tokenizer: Any) -> list[str]:
    """tokenizer.decode([i]) of every id: text is rebuilt from ids without the tokenizer."""
    return [tokenizer.decode([i]) for i in range(len(tokenizer))]


def entry_text(
    labels: torch.Tensor, entry: np.ndarray, class_names: Sequence[str], index: int
) -> str:
    """The text of instance `index`'s entry up to and including the token it predicts."""
    first = int(np.flatnonzero(entry == entry[index])[0])
    return "".join(class_names[t] for t in labels[first : index + 1].tolist())
