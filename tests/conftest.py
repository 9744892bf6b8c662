"""Shared fixtures: the digits data and small models trained on it in milliseconds."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import compresslens as cl
from factories import (  # tests/ is on sys.path: pytest puts conftest's folder there
    MLP_FACTORY,
    digits_mlp,
)
from postgres_server import pg_server, pg_url  # noqa: F401  (fixtures: a PostgreSQL server)
from s3_server import s3_server, s3_url  # noqa: F401  (fixtures: a local S3 server)
from tradeoff_fixtures import sized  # noqa: F401  (fixture: models with sizes and flips)

E2E_TESTS = Path(__file__).parent / "e2e"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# A trust file of the test run's own (never the user's), and the test helper modules trusted as
# a user who wrote them would (recipes name them without registering a model from them first)
os.environ["COMPRESSLENS_CONFIG_DIR"] = tempfile.mkdtemp(prefix="compresslens-config-")
os.environ["COMPRESSLENS_TRUST"] = "factories,user_models,sweep_ops"
# Tiny test models run fastest and steadiest on one thread (two threads on two busy cores
# made a small conv backward ~200x slower); the demo and benchmarks set their own counts.
torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every end-to-end test drives chromium over a served workspace (seconds each): slow, so
    that `pytest -m "not slow"` is the quick loop and `make test` still runs them all."""
    for item in items:
        if E2E_TESTS in item.path.parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8×8 digit images as float inputs [N, 64] and labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return torch.tensor(bunch.data, dtype=torch.float32), torch.tensor(bunch.target)


@pytest.fixture(scope="session")
def trained_mlp_state(digits: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A digits MLP trained for 60 full-batch steps (about 90% accuracy, not 100%)."""
    torch.manual_seed(0)
    model = digits_mlp()
    inputs, labels = digits
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs / 16), labels).backward()
        optimizer.step()
    # fold the /16 scaling into the first layer so the model takes raw digits
    with torch.no_grad():
        model.body[0].weight /= 16
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.fixture
def trained_mlp(trained_mlp_state: dict[str, torch.Tensor]) -> torch.nn.Module:
    model = digits_mlp()
    model.load_state_dict(trained_mlp_state)
    return model.eval()


@pytest.fixture
def workspace(tmp_path: Path) -> cl.Workspace:
    ws = cl.Workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def digits_workspace(
    workspace: cl.Workspace, digits: tuple[torch.Tensor, torch.Tensor], trained_mlp: torch.nn.Module
) -> cl.Workspace:
    """A workspace holding the digits dataset (with a parity attribute) and the trained MLP."""
    inputs, labels = digits
    parity = np.where(labels.numpy() % 2 == 0, "even", "odd")
    workspace.add_dataset(
        "digits",
        inputs,
        labels,
        class_names=[str(i) for i in range(10)],
        attributes={"parity": parity},
    )
    workspace.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
    return workspace


@pytest.fixture
def pruned(digits_workspace: cl.Workspace) -> cl.Workspace:
    """digits_workspace plus "mlp-70" (70% magnitude pruning); both evaluated with logits
    and penultimate features kept."""
    ws = digits_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.7, name="mlp-70")
    for name in ("mlp", "mlp-70"):
        ws.evaluate(name, "digits", logits=True, features=True, latency=False)
    return ws


@pytest.fixture
def one_class_lost(workspace: cl.Workspace) -> cl.Workspace:
    """Logged "base" (every instance right) and "lossy": class "c" loses 30 of its 40
    instances (Δ −0.75), "a" and "b" do not change (Δ = 0 [0, 0]); overall Δ −0.25."""
    labels = np.repeat([0, 1, 2], 40)
    workspace.add_dataset("abc", np.zeros((120, 4), dtype=np.float32), labels, class_names="abc")
    base_logits = np.eye(3, dtype=np.float32)[labels]
    lossy_logits = base_logits.copy()
    lossy_logits[80:110] = np.eye(3, dtype=np.float32)[0]
    workspace.log_model("base", outputs={"abc": base_logits})
    workspace.log_model(
        "lossy",
        parents=["base"],
        operation={"name": "prune.elsewhere"},
        outputs={"abc": lossy_logits},
    )
    return workspace


@pytest.fixture
def prunings(workspace: cl.Workspace) -> cl.Workspace:
    """Logged "base" (12 instances, all right), "p5" (amount 0.5: instances 8, 9 of class c
    become a), "p8" (amount 0.8: 8-11 become a, 0 becomes b) and "p5-ft" (p5 fine-tuned,
    same outputs); attribute "half" alternates x, y."""
    labels = np.repeat([0, 1, 2], 4)
    half = np.array(["x", "y"] * 6)
    workspace.add_dataset(
        "abc", np.zeros((12, 4), np.float32), labels, class_names="abc", attributes={"half": half}
    )
    eye = np.eye(3, dtype=np.float32)
    base = eye[labels]
    p5, p8 = base.copy(), base.copy()
    p5[8:10] = eye[0]
    p8[8:12], p8[0] = eye[0], eye[1]
    workspace.log_model("base", outputs={"abc": base})
    for name, amount, logits in (("p5", 0.5, p5), ("p8", 0.8, p8)):
        params = {"amount": amount, "scope": "global"}
        operation = {"name": "prune.magnitude", "params": params, "seed": 0}
        workspace.log_model(name, parents=["base"], operation=operation, outputs={"abc": logits})
    finetune = {"name": "train.finetune", "params": {"epochs": 1}}
    workspace.log_model("p5-ft", parents=["p5"], operation=finetune, outputs={"abc": p5})
    return workspace


# -- Hugging Face checkpoints the tests make themselves (nothing comes from a hub) ----------


@pytest.fixture(scope="session")
def word_tokenizer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers", reason="text datasets need transformers")
    import user_models

    folder = tmp_path_factory.mktemp("tokenizer")
    return user_models.save_word_tokenizer(folder, user_models.TOPIC_TEXTS)


@pytest.fixture(scope="session")
def tiny_bert_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers", reason="Hugging Face models need transformers")
    import user_models

    return user_models.save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_llama_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama causal LM (nn.Linear projections, RMSNorm), vocabulary 64."""
    pytest.importorskip("transformers", reason="Hugging Face models need transformers")
    import user_models

    return user_models.save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_gpt2_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer GPT-2 causal LM (Conv1D projections, LayerNorm), vocabulary 64."""
    pytest.importorskip("transformers", reason="Hugging Face models need transformers")
    import user_models

    return user_models.save_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2"))
