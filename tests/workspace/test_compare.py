"""Workspace comparisons read stored evaluations and agree with direct computations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import compresslens as cl
from compresslens.errors import CompressLensError, NotFoundError, PopulationSizeWarning


def test_summary_matches_the_stored_predictions(pruned: cl.Workspace) -> None:
    summary = pruned.compare("mlp", "mlp-70").summary()
    base, model = pruned.outputs("mlp", "digits"), pruned.outputs("mlp-70", "digits")
    assert summary["agreement"] == pytest.approx(np.mean(base["prediction"] == model["prediction"]))
    lost = np.sum((base["prediction"] == base["label"]) & (model["prediction"] != model["label"]))
    assert summary["flips"]["correct_to_incorrect"] == lost
    change = summary["model_accuracy"] - summary["base_accuracy"]
    assert summary["accuracy_change"] == pytest.approx(change)
    assert summary["mean_kl"] >= 0


def test_per_class_rows_cover_every_class_with_an_interval(pruned: cl.Workspace) -> None:
    rows = pruned.compare("mlp", "mlp-70", n_boot=200).per_class()
    assert [r["class"] for r in rows] == [str(i) for i in range(10)]
    for row in rows:
        assert row["delta_low"] <= row["delta"] <= row["delta_high"]
    assert set(pruned.compare("mlp", "mlp-70", n_boot=50).per_subgroup()) == {"parity"}


def test_layers_report_the_sparsity_the_pruning_made(pruned: cl.Workspace) -> None:
    layers = pruned.compare("mlp", "mlp-70").layers()
    rows = {row["module"]: row for row in layers["modules"]}
    for name in ("body.0", "classifier"):  # local scope: each layer is 70% zeros
        assert rows[name]["model"]["sparsity"] == pytest.approx(0.7, abs=1e-3)
        assert rows[name]["base"]["sparsity"] == 0.0


def test_geometry_reconstructs_from_stored_features(pruned: cl.Workspace) -> None:
    f, W, b = pruned.geometry_inputs("mlp", "digits")
    logits = pruned.logits("mlp", "digits").float().numpy()
    np.testing.assert_allclose(f @ W.T + b, logits, atol=2e-2, rtol=1e-2)
    geometry = pruned.compare("mlp", "mlp-70").geometry()
    assert len(geometry["deltas"]["margin"]) == 1797


def test_select_by_operation_parameter_and_tag(pruned: cl.Workspace) -> None:
    pruned.tag("mlp", "base")
    assert [m.name for m in pruned.select("op:prune.magnitude&amount=0.7")] == ["mlp-70"]
    assert {m.name for m in pruned.select("tag:base,mlp-70")} == {"mlp", "mlp-70"}
    with pytest.raises(NotFoundError):
        pruned.select("tag:nothing")
    named = pruned.compress("mlp", "prune.magnitude", amount=0.2, name="magnitude[amount=0.2]")
    assert [m.id for m in pruned.select("magnitude[amount=0.2],mlp")] == [
        named.id,
        pruned.model("mlp").id,
    ]


def test_pies_of_single_models_warn_and_leave_the_class_test_empty(pruned: cl.Workspace) -> None:
    with pytest.warns(PopulationSizeWarning, match="single model") as caught:
        report = pruned.pies(["mlp"], ["mlp-70"])
    assert len(caught) == 2 and report["warnings"] == [str(w.message) for w in caught]
    base, model = pruned.outputs("mlp", "digits"), pruned.outputs("mlp-70", "digits")
    disagree = np.flatnonzero(base["prediction"] != model["prediction"])
    assert report["pie_ids"] == disagree.tolist()  # the modal label of one model is its own
    assert all(np.isnan(row["t"]) and not row["impacted"] for row in report["classes"])


def test_pies_refuse_an_empty_population(pruned: cl.Workspace) -> None:
    with pytest.raises(CompressLensError, match="populations"):
        pruned.pies([], ["mlp-70"])


def _trained_and_pruned(ws: cl.Workspace, seeds: int, amount: float = 0.9) -> tuple[list, list]:
    from factories import MLP_FACTORY

    bases = [
        ws.train(MLP_FACTORY, dataset="digits", seed=s, epochs=3, lr=0.02, batch_size=128)
        for s in range(seeds)
    ]
    pruned = [ws.compress(b, "prune.magnitude", amount=amount, seed=0) for b in bases]
    for model in [*bases, *pruned]:
        ws.evaluate(model, "digits", latency=False)
    return bases, pruned


def test_pies_of_populations_of_different_sizes_warn_but_answer(
    digits_workspace: cl.Workspace,
) -> None:
    bases, pruned = _trained_and_pruned(digits_workspace, 3)
    with pytest.warns(PopulationSizeWarning, match="3 baseline .*2 compressed") as caught:
        report = digits_workspace.pies(bases, pruned[:2])
    assert len(caught) == 1 and report["warnings"] == [str(caught[0].message)]
    assert report["baseline"] == [m.name for m in bases] and len(report["classes"]) == 10


def test_pies_over_small_populations_are_the_instances_whose_modal_label_moved(
    workspace: cl.Workspace,
) -> None:
    """Three logged baselines and three compressed models with hand-made predictions.

    Modal labels: baseline [a b c a b c], compressed [a b a a c c]: PIEs are instances 2, 4.
    """
    labels = np.array([0, 1, 2, 0, 1, 2])
    workspace.add_dataset("six", np.zeros((6, 2), dtype=np.float32), labels, class_names="abc")
    baseline = [[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 1], [0, 1, 2, 1, 1, 2]]
    compressed = [[0, 1, 0, 0, 2, 2], [0, 1, 0, 1, 2, 2], [0, 2, 2, 0, 2, 1]]
    for k, (base, comp) in enumerate(zip(baseline, compressed, strict=True)):
        one_hot = np.eye(3, dtype=np.float32)
        workspace.log_model(f"base{k}", outputs={"six": one_hot[base]}, tags=["base"])
        workspace.log_model(
            f"comp{k}",
            parents=[f"base{k}"],
            operation={"name": "prune.elsewhere", "params": {"amount": 0.9}},
            outputs={"six": one_hot[comp]},
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", PopulationSizeWarning)  # 3 and 3: nothing to warn of
        report = workspace.pies("tag:base", "op:prune.elsewhere&amount=0.9")
    assert report["warnings"] == []
    assert report["baseline"] == ["base0", "base1", "base2"]
    assert report["compressed"] == ["comp0", "comp1", "comp2"]
    assert report["pie_ids"] == [2, 4]
    assert report["pies"] == [
        {
            "instance": 2,
            "label": "c",
            "baseline_modal": "c",
            "compressed_modal": "a",
            "baseline_vote": 1.0,
            "compressed_vote": pytest.approx(2 / 3),
        },
        {
            "instance": 4,
            "label": "b",
            "baseline_modal": "b",
            "compressed_modal": "c",
            "baseline_vote": 1.0,
            "compressed_vote": 1.0,
        },
    ]
    summary = report["summary"]
    assert summary["pie_count"] == 2 and summary["pie_share"] == pytest.approx(1 / 3)
    assert summary["baseline"]["all"]["mean"] == pytest.approx(8 / 9)  # 6, 5 and 5 of 6
    assert summary["compressed"]["all"]["mean"] == pytest.approx(5 / 9)  # 4, 3 and 3 of 6
    assert summary["baseline"]["pie"]["mean"] == 1.0
    assert summary["compressed"]["pie"]["mean"] == pytest.approx(1 / 6)  # only comp2 gets one
    assert [row["class"] for row in report["classes"]] == ["a", "b", "c"]


def test_robustness_rows_are_stored_and_reused(workspace: cl.Workspace) -> None:
    from compresslens.models.zoo import lean_cnn

    torch.manual_seed(0)
    images = torch.rand(40, 1, 28, 28)
    workspace.add_dataset("imgs", images, torch.arange(40) % 10, num_classes=10)
    workspace.add_model(
        lean_cnn(), name="cnn", factory="compresslens.models.zoo:lean_cnn", input_shape=[1, 28, 28]
    )
    workspace.compress("cnn", "prune.magnitude", amount=0.5, name="cnn-50")
    rows = workspace.robustness(
        "cnn,cnn-50", "imgs", corruptions=["gaussian_noise", "contrast"], severities=[1, 5]
    )
    assert len(rows) == 2 * (1 + 2 * 2)
    base_rows = [r for r in rows if r["model"] == "cnn"]
    assert all(r["drop"] == 0 for r in base_rows)
    stored = workspace.model("cnn-50").metrics["imgs"]
    assert "robust:contrast@5#n40s0" in stored
    again = workspace.robustness(
        "cnn,cnn-50", "imgs", corruptions=["gaussian_noise", "contrast"], severities=[1, 5]
    )
    assert again == rows
    with pytest.raises(CompressLensError, match="severit"):
        workspace.robustness("cnn", "imgs", corruptions=["contrast"], severities=[9])


def test_pies_by_level_gives_one_report_per_amount(digits_workspace: cl.Workspace) -> None:
    from factories import MLP_FACTORY

    ws = digits_workspace
    bases = [
        ws.train(MLP_FACTORY, dataset="digits", seed=s, epochs=3, lr=0.02, batch_size=128)
        for s in range(2)
    ]
    for base in bases:
        ws.evaluate(base, "digits", latency=False)
        for amount in (0.5, 0.9):
            ws.evaluate(
                ws.compress(base, "prune.magnitude", amount=amount), "digits", latency=False
            )
    levels = ws.pies_by_level("op:train.scratch", "op:prune.magnitude", "amount")
    assert [level["level"] for level in levels] == [{"amount": 0.5}, {"amount": 0.9}]
    assert all(type(level["level"]["amount"]) is float for level in levels)
    direct = ws.pies("op:train.scratch", "op:prune.magnitude&amount=0.9")
    assert levels[1]["summary"]["pie_count"] == direct["summary"]["pie_count"]
    assert levels[0]["summary"]["pie_count"] <= levels[1]["summary"]["pie_count"]
    assert [level["warnings"] for level in levels] == [[], []]


def test_pies_by_level_keeps_string_levels_and_warns_for_the_level_of_one_model(
    digits_workspace: cl.Workspace,
) -> None:
    ws = digits_workspace
    bases, _ = _trained_and_pruned(ws, 2, amount=0.5)
    one = ws.compress(bases[0], "prune.magnitude", amount=0.5, scope="global")
    ws.evaluate(one, "digits", latency=False)
    with pytest.warns(PopulationSizeWarning) as caught:
        levels = ws.pies_by_level("op:train.scratch", "amount=0.5", "scope")
    assert [level["level"] for level in levels] == [{"scope": "global"}, {"scope": "local"}]
    assert len(levels[0]["warnings"]) == 2  # 2 vs 1 models, and a single compressed model
    assert levels[1]["warnings"] == []
    assert [str(w.message) for w in caught] == levels[0]["warnings"]


def test_sensitivity_ranks_layers_and_exports_an_exclude_list(
    digits_workspace: cl.Workspace,
) -> None:
    report = digits_workspace.sensitivity(
        "mlp", "digits", "prune.magnitude", amount=0.9, max_drop=0.02
    )
    assert {row["layer"] for row in report["ranking"]} == {"body.0", "classifier"}
    drops = [row["drop"] for row in report["ranking"]]
    assert drops == sorted(drops, reverse=True)
    assert report["exclude"] == [r["layer"] for r in report["ranking"] if r["drop"] > 0.02]
    # the exclude list is usable as the operation's own parameter
    most_sensitive = report["ranking"][0]["layer"]
    child = digits_workspace.compress(
        "mlp", "prune.magnitude", amount=0.9, exclude=[most_sensitive]
    )
    assert child.operation.params["exclude"] == [most_sensitive]
    with pytest.raises(cl.CompressLensError, match="one layer"):
        digits_workspace.sensitivity("mlp", "digits", "cast.fp16")


@pytest.mark.filterwarnings("ignore")
def test_sensitivity_gives_weight_only_passes_that_build_a_mixed_model(
    digits_workspace: cl.Workspace,
) -> None:
    ws = digits_workspace
    report = ws.sensitivity("mlp", "digits", "prune.magnitude", amount=0.9, keep_share=0.5)
    passes = report["weight_only_passes"]
    assert sorted(p["bits"] for p in passes) == [4, 8]
    assert report["mixed_precision"][report["ranking"][0]["layer"]] == 8  # most sensitive
    model = ws.model("mlp")
    for params in passes:
        model = ws.compress(model, "quantize.weight_only", group_size=16, **params)
    ws.evaluate(model, "digits", latency=False)
    assert ws.model(model).metrics["digits"]["accuracy"] > 0.5


def test_agreement_matrix_matches_a_direct_count(pruned: cl.Workspace) -> None:
    result = pruned.agreement("mlp,mlp-70")
    a, b = (pruned.outputs(m, "digits")["prediction"] for m in ("mlp", "mlp-70"))
    np.testing.assert_allclose(result["matrix"], [[1, np.mean(a == b)], [np.mean(a == b), 1]])


def test_calibration_and_weight_histograms(pruned: cl.Workspace) -> None:
    cmp = pruned.compare("mlp", "mlp-70")
    calibration = cmp.calibration()
    assert calibration["ece"] == pytest.approx(pruned.evaluation("mlp-70", "digits").metrics["ece"])
    assert sum(calibration["reliability"]["count"]) == 1797
    histograms = cmp.weight_histograms("classifier", bins=20)
    assert len(histograms["edges"]) == 21


@pytest.fixture
def images_workspace(workspace: cl.Workspace) -> cl.Workspace:
    from compresslens.models.zoo import lean_cnn

    torch.manual_seed(0)
    workspace.add_dataset("imgs", torch.rand(30, 1, 28, 28), torch.arange(30) % 10, num_classes=10)
    workspace.add_model(
        lean_cnn(), name="cnn", factory="compresslens.models.zoo:lean_cnn", input_shape=[1, 28, 28]
    )
    workspace.compress("cnn", "prune.magnitude", amount=0.5, name="cnn-50")
    for name in ("cnn", "cnn-50"):
        workspace.evaluate(name, "imgs", logits=True, features=True, latency=False)
    return workspace


def test_occlusion_maps_have_one_cell_per_patch(images_workspace: cl.Workspace) -> None:
    maps = images_workspace.occlusion("cnn", "imgs", 3, patch=7, stride=7)
    assert np.asarray(maps["margin"]).shape == (4, 4)
    assert set(maps) >= {"angle", "length", "margin"}
    with pytest.raises(NotFoundError):
        images_workspace.occlusion("cnn", "imgs", 30)


def test_corruption_fragility_matches_margin_signs(images_workspace: cl.Workspace) -> None:
    clean, noisy = images_workspace.corrupted_margins("cnn", "imgs", "gaussian_noise", 5)
    report = images_workspace.compare("cnn", "cnn-50").corruption_fragility("gaussian_noise", 5)
    expected = np.flatnonzero((clean > 0) & (noisy <= 0))
    assert sorted(report["base"]["robust_to_fragile"]) == expected.tolist()
    # clean margins agree with the stored features' geometry
    f, W, b = images_workspace.geometry_inputs("cnn", "imgs")
    from compresslens.analysis.geometry import margin

    np.testing.assert_allclose(clean, margin(f, W, b, np.arange(30) % 10), rtol=1e-4, atol=1e-4)


def test_pies_rank_instances_by_population_distance_when_logits_are_stored(
    digits_workspace: cl.Workspace,
) -> None:
    from factories import MLP_FACTORY

    ws = digits_workspace
    bases = [ws.train(MLP_FACTORY, dataset="digits", seed=s, epochs=2, lr=0.02) for s in (0, 1)]
    pruned = [ws.compress(b, "prune.magnitude", amount=0.9) for b in bases]
    for model in [*bases, *pruned]:
        ws.evaluate(model, "digits", logits=True, latency=False)
    ranking = ws.pies(bases, pruned)["distance_ranking"]
    distances = [row["distance"] for row in ranking]
    assert len(ranking) == 100 and distances == sorted(distances, reverse=True)
    assert 0 < distances[0] <= 2


def test_activations_run_the_models_once_then_read_the_stored_result(
    pruned: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pruned.compare("mlp", "mlp-70").activations(sample=256)
    assert {row["module"] for row in first["modules"]} >= {"body.0", "classifier"}

    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the models ran again")

    monkeypatch.setattr("compresslens.workspace.comparison.capture_activations", must_not_run)
    again = pruned.compare("mlp", "mlp-70").activations(sample=256)
    assert again == first
    with pytest.raises(AssertionError, match="ran again"):
        pruned.compare("mlp", "mlp-70").activations(sample=128)  # another sample: new run


def test_activation_histograms_share_their_bins(pruned: cl.Workspace) -> None:
    histograms = pruned.compare("mlp", "mlp-70").activation_histograms("body.0", sample=200)
    assert histograms["module"] == "body.0" and histograms["missing"] == []
    assert len(histograms["edges"]) == 51


def test_unchanged_classes_fared_better_than_a_model_that_lost(one_class_lost: cl.Workspace):
    """Δ = 0 [0, 0] while the model lost 25 points: an excess gain, never a loss."""
    rows = one_class_lost.compare("base", "lossy", n_boot=200).per_class()
    assert [(r["class"], r["delta"]) for r in rows] == [("a", 0.0), ("b", 0.0), ("c", -0.75)]
    assert [(r["delta_low"], r["delta_high"]) for r in rows[:2]] == [(0.0, 0.0), (0.0, 0.0)]
    assert [r["excess"] for r in rows] == ["gain", "gain", "loss"]
    assert [r["excess_delta"] for r in rows] == pytest.approx([0.25, 0.25, -0.5])
    assert all("significant" not in r for r in rows)
