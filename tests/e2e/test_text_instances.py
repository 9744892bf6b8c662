"""Text data in chromium: where the UI shows instances, a text dataset shows each text itself.

A small workspace built here: 30 movie reviews (token ids; texts registered with them), two
bag-of-words classifiers trained from scratch and each pruned to 95%, all evaluated. It is served
and driven by drive.mjs with views/text-instances.mjs (the Behaviours drill-down, the PIE
gallery and the Geometry view's fragile samples), whose record is compared with the texts
and the Python API.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from e2e_harness import REPO, Server, drive, needs_browser, view_report

import compresslens as cl
from factories import TEXT_BAG_FACTORY

pytestmark = needs_browser

LONG = (
    "I expected a quiet drama and got a loud, dull, endless chase that forgets its own plot "
    "halfway and never finds it again; the cast tries hard, the music is fine, but the "
    "writing is lazy and the ending is a mess"
)
REVIEWS = [
    ("a warm funny film with a fine cast", "positive"),
    ("dull plot and wooden acting", "negative"),
    ("the best film of the year", "positive"),
    ("a mess from start to end", "negative"),
    ("fine music and a moving story", "positive"),
    ("lazy writing and a dull ending", "negative"),
    ("funny warm and moving", "positive"),
    ("the plot is a mess and the acting is wooden", "negative"),
    ("a moving story told with care", "positive"),
    ("loud and endless", "negative"),
    ("the cast is fine but the story is dull", "negative"),
    ("a quiet drama with a warm heart", "positive"),
    ("not funny and not moving", "negative"),
    ("a fine film with a lazy ending", "positive"),
    ("the music is the best part of a dull film", "negative"),
    ("a story of care and heart", "positive"),
    ("wooden cast loud music lazy plot", "negative"),
    ("funny from start to end", "positive"),
    ("the ending is a moving surprise", "positive"),
    ("a chase that never ends", "negative"),
    ("the acting is fine and the plot is warm", "positive"),
    ("dull and loud and lazy", "negative"),
    ("a quiet film with a fine story", "positive"),
    ("the writing is a mess", "negative"),
    ("warm heart fine music best cast", "positive"),
    ("an endless dull drama", "negative"),
    ("the year of the best story", "positive"),
    ("a lazy film that forgets its plot", "negative"),
    ("moving and funny with care", "positive"),
    (LONG, "negative"),
]
CLASSES = ["negative", "positive"]
BASELINE = "bag-s0,bag-s1"
COMPRESSED = "op:prune.magnitude"
TRAINING = {"epochs": 8, "lr": 0.05, "batch_size": 8}


def token_ids(texts: list[str]) -> tuple[torch.Tensor, int]:
    """Each text as word ids (1-based over the sorted vocabulary), padded with 0; vocab size."""
    words = [t.replace(",", " ").replace(";", " ").split() for t in texts]
    vocabulary = {w: i + 1 for i, w in enumerate(sorted({w for ws in words for w in ws}))}
    width = max(len(ws) for ws in words)
    ids = torch.zeros(len(texts), width, dtype=torch.long)
    for row, ws in enumerate(words):
        ids[row, : len(ws)] = torch.tensor([vocabulary[w] for w in ws])
    return ids, len(vocabulary) + 1


def build_text_workspace(location: Path) -> cl.Workspace:
    """Reviews, two bag-of-words seeds trained from scratch, each pruned to 95% (which
    collapses it to one class: many flips and PIEs to show), evaluated."""
    ws = cl.Workspace(location)
    texts = [t for t, _ in REVIEWS]
    tokens, vocab_size = token_ids(texts)
    labels = torch.tensor([CLASSES.index(c) for _, c in REVIEWS])
    ws.add_dataset("reviews", tokens, labels, class_names=CLASSES, texts=texts)
    kwargs = {"vocab_size": vocab_size, "dim": 4, "num_classes": 2}
    for seed in (0, 1):
        name = f"bag-s{seed}"
        ws.train(TEXT_BAG_FACTORY, kwargs, dataset="reviews", seed=seed, name=name, **TRAINING)
        ws.compress(name, "prune.magnitude", amount=0.95, name=f"{name}-p95")
    for model in ws.models():
        ws.evaluate(model, "reviews", logits=True, features=True, latency=False)
    return ws


@pytest.fixture(scope="module")
def text_workspace(tmp_path_factory: pytest.TempPathFactory) -> cl.Workspace:
    ws = build_text_workspace(tmp_path_factory.mktemp("text-workspace") / "ws")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def shown(text_workspace: cl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> dict:
    screenshots = Path(os.environ.get("E2E_SCREENSHOTS", REPO / "build" / "e2e-screenshots"))
    log = tmp_path_factory.mktemp("text-server") / "server.log"
    with pytest.MonkeyPatch.context() as env:
        # the server rebuilds models (geometry reads their last layer): from tests/factories.py
        paths = [os.environ.get("PYTHONPATH", ""), str(REPO / "tests")]
        env.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
        with Server(Path(text_workspace.location), log) as server:
            report = drive(server.url, screenshots / "text", views="text-instances", timeout=300)
    assert report["returncode"] == 0, f"{report['stderr']}\n{report['checks']}"
    return view_report(report, "text-instances")


def test_the_workspace_has_flips_and_pies_to_show(text_workspace: cl.Workspace) -> None:
    summary = text_workspace.compare("bag-s0", "bag-s0-p95", "reviews", n_boot=10).summary()
    assert summary["flips"]["correct_to_incorrect"] + summary["flips"]["incorrect_to_correct"] > 0
    assert text_workspace.pies(BASELINE, COMPRESSED, "reviews")["summary"]["pie_count"] > 0


def test_the_drill_down_shows_each_instance_text_and_no_image(shown: dict) -> None:
    drill = shown["drill"]
    assert drill["images"] == 0 and drill["cards"]
    label = CLASSES.index(drill["class"])
    for card in drill["cards"]:
        text, cls = REVIEWS[card["instance"]]
        assert cls == CLASSES[label]
        assert card["text"] == text and card["title"] == text


def test_a_long_text_is_clamped_to_a_few_lines(shown: dict) -> None:
    [card] = [c for c in shown["drill"]["cards"] if c["instance"] == len(REVIEWS) - 1]
    assert card["client_height"] <= 4 * card["line_height"] + 1
    assert card["scroll_height"] > card["client_height"]


def test_the_pie_gallery_shows_the_texts_of_the_pies(
    shown: dict, text_workspace: cl.Workspace
) -> None:
    report = text_workspace.pies(BASELINE, COMPRESSED, "reviews")
    gallery = shown["pies"]
    assert gallery["images"] == 0
    assert [c["instance"] for c in gallery["cards"]] == [p["instance"] for p in report["pies"]]
    for card in gallery["cards"]:
        assert card["text"] == REVIEWS[card["instance"]][0]


def test_the_fragile_samples_show_their_texts(shown: dict, text_workspace: cl.Workspace) -> None:
    geometry = text_workspace.compare("bag-s0", "bag-s0-p95", "reviews").geometry()
    moved = geometry["fragility"]
    shown_samples = shown["geometry"]
    assert shown_samples["images"] == 0
    crossed = [*moved["robust_to_fragile"].tolist(), *moved["fragile_to_robust"].tolist()]
    assert shown_samples["instances"] and set(shown_samples["instances"]) <= set(crossed)
    for index, card in zip(shown_samples["instances"], shown_samples["cards"], strict=True):
        assert card["text"] == card["title"] == REVIEWS[index][0]


def test_the_text_route_answers_what_the_cards_show(text_workspace: cl.Workspace) -> None:
    assert text_workspace.render_instance("reviews", 3) == REVIEWS[3][0]
    assert np.array_equal(
        text_workspace.outputs("bag-s0", "reviews")["label"],
        [CLASSES.index(c) for _, c in REVIEWS],
    )
