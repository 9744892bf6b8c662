"""What the generation tests share: a hand-made token dataset, and a Llama whose lm_head row
of one token copies (slightly enlarged) another's, so that token wins where the other did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import compresslens as cl

VOCAB = 64
TOKEN_NAMES = [chr(ord("0") + i) for i in range(VOCAB)]  # one printable character per id
ENTRY_LENGTHS = [12, 2, 10, 15, 2, 9, 11]  # with its separator, entries 1 and 4 have 3 tokens:
# too short for 4-token prompts
SEPARATOR = 0


def add_token_dataset(ws: cl.Workspace, name: str = "held-out") -> cl.DatasetInfo:
    """A token stream of entries (ids 1..63) after separators, as the contract lays it out:
    instance i predicts labels[i] = s[i+1]; its entry and its position in that entry."""
    rng = np.random.default_rng(0)
    labels, entry, position = [], [], []
    for index, size in enumerate(ENTRY_LENGTHS):
        labels += [*rng.integers(1, VOCAB, size).tolist(), SEPARATOR]
        entry += [index] * (size + 1)
        position += list(range(size + 1))
    inputs = [SEPARATOR, *labels[:-1]]
    return ws.add_dataset(
        name,
        torch.tensor(inputs),
        torch.tensor(labels),
        class_names=TOKEN_NAMES,
        attributes={"entry": np.array(entry), "position": np.array(position)},
        modality="tokens",
    )


def entry_starts() -> list[int]:
    """The instance index where each entry's first token is predicted."""
    return np.cumsum([0, *[size + 1 for size in ENTRY_LENGTHS[:-1]]]).tolist()


def save_edited_llama(source: Path, folder: Path, winner: int, copied: int, scale: float) -> Path:
    """The Llama in `source` with lm_head row `winner` = scale × row `copied`: `winner`'s logit
    becomes scale × `copied`'s, so it wins wherever that beats the maximum (given the prefix)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(source, local_files_only=True)
    with torch.no_grad():
        model.lm_head.weight[winner] = scale * model.lm_head.weight[copied]
    model.save_pretrained(folder)
    return folder
