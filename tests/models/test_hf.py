"""Hugging Face models by local path: stored as config + safetensors, called with keywords."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import compresslens as cl
import user_models
from compresslens.errors import DataFormatError, FactoryError

transformers = pytest.importorskip("transformers", reason="Hugging Face models need it")

TEXTS = user_models.TOPIC_TEXTS * 2
LABELS = user_models.TOPIC_LABELS * 2


@pytest.fixture
def text_workspace(workspace: cl.Workspace, word_tokenizer_folder: Path) -> cl.Workspace:
    workspace.add_dataset(
        "topics",
        TEXTS,
        LABELS,
        class_names=user_models.TOPIC_NAMES,
        tokenizer=word_tokenizer_folder,
        max_length=16,
    )
    return workspace


def test_strings_are_stored_as_token_ids_and_attention_masks(
    text_workspace: cl.Workspace, word_tokenizer_folder: Path
) -> None:
    info = text_workspace.dataset("topics")
    assert info.modality == "text" and info.num_instances == 16
    assert info.input_dtype == "input_ids:int64,attention_mask:int64"
    arrays = text_workspace.load_dataset("topics")
    assert list(arrays.inputs) == ["input_ids", "attention_mask"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(word_tokenizer_folder)
    expected = tokenizer(TEXTS, padding="longest", return_tensors="pt")
    assert torch.equal(arrays.inputs.field("input_ids"), expected["input_ids"])
    assert torch.equal(arrays.inputs.field("attention_mask"), expected["attention_mask"])
    assert arrays.texts == TEXTS
    assert text_workspace.render_instance("topics", 2) == TEXTS[2]


def test_raw_strings_without_a_tokenizer_are_refused_clearly(workspace: cl.Workspace) -> None:
    with pytest.raises(DataFormatError, match=r"8 strings; pass tokenizer=<local tokenizer"):
        workspace.add_dataset("raw", user_models.TOPIC_TEXTS, user_models.TOPIC_LABELS)
    with pytest.raises(DataFormatError, match="not a local folder"):
        workspace.add_dataset(
            "raw", user_models.TOPIC_TEXTS, user_models.TOPIC_LABELS, tokenizer="bert-base-uncased"
        )
    assert workspace.datasets() == []


def test_named_tensors_are_keyword_inputs(workspace: cl.Workspace) -> None:
    ids = torch.randint(0, 50, (6, 5))
    info = workspace.add_dataset(
        "ids", {"input_ids": ids, "attention_mask": torch.ones(6, 5, dtype=torch.long)}, [0, 1] * 3
    )
    assert info.modality == "text"
    assert torch.equal(workspace.load_dataset("ids").inputs.field("input_ids"), ids)
    with pytest.raises(DataFormatError, match="share their first"):
        workspace.add_dataset(
            "bad", {"input_ids": ids, "attention_mask": torch.ones(5, 5)}, [0, 1] * 3
        )


def test_a_model_folder_is_registered_reloaded_and_evaluated_with_its_mask(
    text_workspace: cl.Workspace, tiny_bert_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "bert"
    shutil.copytree(tiny_bert_folder, folder)
    info = text_workspace.add_hf_model(folder, name="bert")
    assert info.factory == "compresslens.models.hf:from_config"
    assert info.factory_kwargs["task"] == "sequence-classification"
    assert info.input_spec is not None and set(info.input_spec["fields"]) == {
        "input_ids", "attention_mask",
    }  # fmt: skip
    shutil.rmtree(folder)  # the workspace holds everything it needs
    reloaded = text_workspace.load_model("bert")
    original = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_bert_folder)
    batch = text_workspace.load_dataset("topics").inputs
    with torch.no_grad():
        masked = original.eval()(**batch.as_dict()).logits
        unmasked = original(input_ids=batch.field("input_ids")).logits
        assert torch.equal(reloaded(**batch.as_dict()).logits, masked)
    text_workspace.evaluate("bert", "topics", logits=True, latency=False)
    stored = text_workspace.logits("bert", "topics").float()
    assert torch.allclose(stored, masked, atol=1e-2)  # logits are kept as float16
    assert not torch.equal(unmasked, masked)  # the mask matters


def test_a_new_head_takes_num_labels_and_trains(
    text_workspace: cl.Workspace, tiny_bert_folder: Path
) -> None:
    base = text_workspace.add_hf_model(tiny_bert_folder, name="bert3", num_labels=4)
    tuned = text_workspace.compress(
        base, "train.finetune", dataset="topics", epochs=3, lr=3e-3, batch_size=4
    )
    before = text_workspace.evaluate(base, "topics", latency=False).accuracy
    after = text_workspace.evaluate(tuned, "topics", latency=False).accuracy
    assert after > before


def test_num_labels_replaces_a_classification_head_of_another_size(
    workspace: cl.Workspace, tiny_bert_folder: Path
) -> None:
    saved = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_bert_folder)
    assert saved.classifier.out_features != 3
    workspace.add_hf_model(tiny_bert_folder, name="bert3", num_labels=3)
    reloaded = workspace.load_model("bert3")
    assert reloaded.classifier.out_features == 3 and reloaded.config.num_labels == 3
    body = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(reloaded.state_dict()[body], saved.state_dict()[body])  # kept


def test_an_in_memory_transformers_model_needs_no_factory(
    workspace: cl.Workspace, tiny_bert_folder: Path
) -> None:
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_bert_folder)
    info = workspace.add_model(model, name="bert")
    assert info.factory == "compresslens.models.hf:from_config"
    with pytest.raises(FactoryError, match="needs factory="):
        workspace.add_model(torch.nn.Linear(2, 2), name="lin")


def test_a_folder_that_is_not_a_model_is_refused_without_a_download(
    workspace: cl.Workspace, tmp_path: Path
) -> None:
    with pytest.raises(FactoryError, match=r"no config\.json"):
        workspace.add_hf_model(tmp_path, name="nothing")
    with pytest.raises(FactoryError, match="never a hub name"):
        workspace.add_hf_model("sentence-transformers/all-MiniLM-L6-v2", name="hub")
    assert workspace.models() == []


def test_token_ids_without_texts_render_as_ids(workspace: cl.Workspace) -> None:
    ids = torch.tensor([[5, 6, 7], [8, 9, 0]])
    workspace.add_dataset("ids", {"input_ids": ids, "attention_mask": torch.ones(2, 3)}, [0, 1])
    assert workspace.render_instance("ids", 1) == "8 9 0"
