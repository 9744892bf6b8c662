"""Texts and Hugging Face models without Python: add-dataset of a .jsonl or .csv with a
tokenizer folder, add-model --hf, then compress and evaluate as any other model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from cli_runner import fails, succeeds

import compresslens as cl
import user_models

pytest.importorskip("transformers", reason="texts and Hugging Face models need transformers")

TEXTS, LABELS, NAMES = user_models.TOPIC_TEXTS, user_models.TOPIC_LABELS, user_models.TOPIC_NAMES


@pytest.fixture
def empty(workspace: cl.Workspace) -> str:
    return workspace.location


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def write_csv(path: Path, rows: list[list[str | int]]) -> Path:
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([["text", "label"], *rows])
    return path


@pytest.fixture
def topics_jsonl(tmp_path: Path) -> Path:
    """The topic texts with integer labels."""
    items = [{"text": t, "label": label} for t, label in zip(TEXTS, LABELS, strict=True)]
    return write_jsonl(tmp_path / "topics.jsonl", items)


@pytest.fixture
def topics_csv(tmp_path: Path) -> Path:
    """The topic texts with their labels written as names."""
    rows = [[t, NAMES[label]] for t, label in zip(TEXTS, LABELS, strict=True)]
    return write_csv(tmp_path / "topics.csv", rows)


def test_jsonl_and_csv_texts_are_tokenized_compressed_and_evaluated_end_to_end(
    empty: str,
    workspace: cl.Workspace,
    topics_jsonl: Path,
    topics_csv: Path,
    word_tokenizer_folder: Path,
    tiny_bert_folder: Path,
) -> None:
    tokenizer = str(word_tokenizer_folder)
    succeeds("add-dataset", "from-jsonl", str(topics_jsonl), "--tokenizer", tokenizer,
             "--class-names", ",".join(NAMES), "-w", empty)  # fmt: skip
    text = succeeds(
        "add-dataset", "from-csv", str(topics_csv), "--tokenizer", tokenizer, "-w", empty
    )
    assert "from-csv: 8 instances, 4 classes, text input" in text
    for name in ("from-jsonl", "from-csv"):
        info = workspace.dataset(name)
        assert info.class_names == NAMES and info.modality == "text"
        arrays = workspace.load_dataset(name)
        assert arrays.texts == TEXTS and arrays.labels.tolist() == LABELS
        assert list(arrays.inputs) == ["input_ids", "attention_mask"]
    assert torch.equal(
        workspace.load_dataset("from-jsonl").inputs.field("input_ids"),
        workspace.load_dataset("from-csv").inputs.field("input_ids"),
    )

    model = json.loads(succeeds("add-model", "bert", "--hf", str(tiny_bert_folder), "-w", empty,
                                "--json"))["model"]  # fmt: skip
    assert model["factory"] == "compresslens.models.hf:from_config"
    assert set(model["input_spec"]["fields"]) == {"input_ids", "attention_mask"}
    succeeds("compress", "bert", "quantize.dynamic_int8", "--name", "int8", "-w", empty)
    for name in ("bert", "int8"):
        evaluated = succeeds("evaluate", name, "-d", "from-csv", "--no-latency", "-w", empty)
        assert evaluated.startswith("from-csv: accuracy") and "(8 instances" in evaluated
    assert workspace.model("int8").operation.name == "quantize.dynamic_int8"


def test_add_model_hf_prints_id_name_task_parameters_and_keyword_inputs(
    empty: str, workspace: cl.Workspace, tiny_bert_folder: Path
) -> None:
    text = succeeds("add-model", "bert", "--hf", str(tiny_bert_folder), "-w", empty)
    info = workspace.model("bert")
    head = f"{info.id[:8]}  bert  (compresslens.models.hf:from_config, sequence-classification)"
    assert head in text and f"{info.efficiency['parameters'] / 1e3:.2f}k parameters" in text
    assert "input: input_ids [16] int64, attention_mask [16] int64" in text


def test_num_labels_gives_the_hf_model_a_new_head(
    empty: str, workspace: cl.Workspace, tiny_bert_folder: Path
) -> None:
    succeeds("add-model", "bert3", "--hf", str(tiny_bert_folder), "--num-labels", "3",
             "--task", "sequence-classification", "-w", empty)  # fmt: skip
    assert workspace.load_model("bert3").classifier.out_features == 3


def test_limit_and_max_length_keep_the_first_texts_and_tokens(
    empty: str, workspace: cl.Workspace, topics_jsonl: Path, word_tokenizer_folder: Path
) -> None:
    succeeds("add-dataset", "short", str(topics_jsonl), "--tokenizer", str(word_tokenizer_folder),
             "--limit", "3", "--max-length", "4", "-w", empty)  # fmt: skip
    info = workspace.dataset("short")
    assert info.num_instances == 3 and info.input_shape == [4]
    assert info.class_names == ["0", "1"]  # the labels kept: 0, 0, 1


@pytest.mark.parametrize(
    ("lines", "options", "message"),
    [
        (['{"text": "a", "label": 0}', '{"text": "b"}'], [],
         "topics.jsonl line 2 lacks 'label' (it has 'text')"),
        (['{"text": "a", "label": "sport"}', '{"text": "b", "label": "news"}'],
         ["--class-names", "sport,weather"],
         "topics.jsonl line 2: label 'news' is not one of the class names given (sport, weather)"),
        (['{"text": "a", "label": 0}', '{"text": "b", "label": "sport"}'], [],
         "line 2: label 'sport' is a class name, but line 1's label 0 is a class id"),
        (['{"text": "a", "label": 3}'], ["--class-names", "a,b"],
         "line 1: label 3 but the class names given name 2 classes"),
        ([], [], "topics.jsonl holds no texts"),
    ],
)  # fmt: skip
def test_a_bad_jsonl_is_refused_with_its_line_and_nothing_is_stored(
    empty: str,
    workspace: cl.Workspace,
    tmp_path: Path,
    word_tokenizer_folder: Path,
    lines: list[str],
    options: list[str],
    message: str,
) -> None:
    path = tmp_path / "topics.jsonl"
    path.write_text("".join(f"{line}\n" for line in lines))
    tokenizer = ["--tokenizer", str(word_tokenizer_folder)]
    assert message in fails("add-dataset", "t", str(path), *tokenizer, *options, "-w", empty)
    assert workspace.datasets() == []


def test_a_csv_without_a_label_column_is_refused(
    empty: str, workspace: cl.Workspace, tmp_path: Path, word_tokenizer_folder: Path
) -> None:
    (tmp_path / "t.csv").write_text("text,topic\nrain,weather\n")
    message = fails("add-dataset", "t", str(tmp_path / "t.csv"), "--tokenizer",
                    str(word_tokenizer_folder), "-w", empty)  # fmt: skip
    assert "the header must name the columns 'text' and 'label'; it lacks 'label'" in message
    assert workspace.datasets() == []


def test_texts_need_a_local_tokenizer_folder(
    empty: str, workspace: cl.Workspace, topics_jsonl: Path, topics_csv: Path
) -> None:
    for path in (topics_jsonl, topics_csv):
        message = fails("add-dataset", "t", str(path), "-w", empty)
        assert f"{path} holds texts: give --tokenizer FOLDER" in message
    message = fails("add-dataset", "t", str(topics_csv), "--tokenizer", "bert-base-uncased",
                    "-w", empty)  # fmt: skip
    assert "is not a local folder" in message and "nothing is downloaded" in message
    assert workspace.datasets() == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-k", "hidden=3"], "--kwarg goes with --factory, not with --hf"),
        (["--weights", "w.safetensors"], "--weights goes with --factory, not with --hf"),
        (["--input-shape", "16"], "--input-shape goes with --factory"),
        (["--task", "ranking"], "--task 'ranking' is not one of sequence-classification,"),
    ],
)
def test_add_model_hf_refuses_options_it_does_not_take(
    empty: str, workspace: cl.Workspace, tiny_bert_folder: Path, arguments: list[str], message: str
) -> None:
    assert message in fails(
        "add-model", "b", "--hf", str(tiny_bert_folder), *arguments, "-w", empty
    )
    assert workspace.models() == []


def test_add_model_hf_refuses_a_folder_without_a_model_and_never_downloads(
    empty: str, workspace: cl.Workspace, tmp_path: Path
) -> None:
    assert "no config.json" in fails("add-model", "b", "--hf", str(tmp_path), "-w", empty)
    message = fails("add-model", "b", "--hf", "sentence-transformers/all-MiniLM-L6-v2", "-w", empty)
    assert "never a hub name: nothing is downloaded" in message
    assert workspace.models() == []
