"""The demo LM's held-out split as the token dataset its models are evaluated on."""

from __future__ import annotations

from pathlib import Path

import pytest

import compresslens as cl
import lm_corpus
from compresslens.data.corpora import FORTUNES_DIR, read_fortunes, split_entries
from compresslens.demo_lm import DEMO_HELD_OUT_NAME, DemoLMOptions, add_demo_held_out

pytest.importorskip("transformers", reason="tokenizers come from transformers")
pytestmark = pytest.mark.skipif(
    not (FORTUNES_DIR / "art").is_file(), reason="needs Debian's fortunes (make data)"
)


@pytest.mark.slow
def test_the_held_out_entries_become_lm_held_out(workspace: cl.Workspace, tmp_path: Path) -> None:
    folder = lm_corpus.save_corpus_lm(tmp_path / "lm")
    options = DemoLMOptions(collections=("art",))

    info = add_demo_held_out(workspace, folder, options=options)

    held_out = split_entries(read_fortunes(collections=("art",))).held_out
    entries = workspace.load_dataset(info).attributes["entry"]
    assert info.name == DEMO_HELD_OUT_NAME and info.modality == "tokens"
    assert int(entries.max()) + 1 == len(held_out)
