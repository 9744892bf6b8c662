"""Flip-to-layer attribution on a planted change: a trained digits MLP with one layer damaged
on purpose, so the layer that caused the flips is known."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from compresslens.analysis.flip_attribution import (
    FlipAttribution,
    FlipAttributionError,
    attribute_flips,
    block_of,
    control_sample,
    group_units,
    predictions,
    select_flips,
)
from compresslens.analysis.module_restoration import restoration_units, restored
from compresslens.ops.quantization import (
    DynamicInt8Params,
    convert_static,
    dynamic_int8,
    prepare_static,
)
from factories import digits_mlp


def damaged(model: nn.Module, layer: str, scale: float = 0.0, seed: int = 0) -> nn.Module:
    """A copy with `layer`'s weight scaled and perturbed: the planted cause of the flips."""
    copied = copy.deepcopy(model)
    weight = copied.get_submodule(layer).weight
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        noise = torch.randn(weight.shape, generator=generator) * weight.std()
        weight.mul_(scale).add_(noise)
    return copied


def flipped(base: nn.Module, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor):
    """(flip indices, base predictions, model predictions) over the whole dataset."""
    base_pred, model_pred = predictions(base, inputs), predictions(model, inputs)
    return select_flips(labels.numpy(), base_pred, model_pred), base_pred, model_pred


def attribution(base, model, digits, *, control: int = 0, **kwargs) -> FlipAttribution:
    inputs, labels = digits
    flips, base_pred, model_pred = flipped(base, model, inputs, labels)
    sample = control_sample(base_pred, model_pred, control)
    return attribute_flips(
        base,
        model,
        inputs[flips],
        labels.numpy()[flips],
        base_pred[flips],
        control_inputs=inputs[sample],
        control_predictions=base_pred[sample],
        **kwargs,
    )


def test_the_damaged_layer_is_named_first_and_undoes_every_flip(trained_mlp, digits) -> None:
    result = attribution(trained_mlp, damaged(trained_mlp, "body.0"), digits, control=200)
    assert result.flips > 50  # the damage is real
    first = result.rows[0]
    assert first.module == "body.0"
    assert first.undone == result.flips and first.undone_share == 1.0
    assert first.created == 0  # the base's own weights cannot move the base's answers
    assert result.rows[1].undone_share < 0.5
    assert result.greedy_set == ["body.0"] and result.reached


def test_the_other_planted_layer_is_found_too(trained_mlp, digits) -> None:
    result = attribution(trained_mlp, damaged(trained_mlp, "classifier", 0.2), digits)
    assert result.flips > 20
    assert result.rows[0].module == "classifier"
    assert result.rows[0].undone_share == 1.0


def test_undone_and_created_equal_a_direct_recomputation(trained_mlp, digits) -> None:
    """Both layers damaged: each row's counts are checked against restoring by hand."""
    inputs, labels = digits
    model = damaged(damaged(trained_mlp, "body.0", 0.5), "classifier", 0.5, seed=1)
    flips, base_pred, model_pred = flipped(trained_mlp, model, inputs, labels)
    sample = control_sample(base_pred, model_pred, 300, seed=3)
    result = attribute_flips(
        trained_mlp,
        model,
        inputs[flips],
        labels.numpy()[flips],
        base_pred[flips],
        control_inputs=inputs[sample],
        control_predictions=base_pred[sample],
    )
    assert result.flips == len(flips) and result.not_reproduced == 0
    for row in result.rows:
        by_hand = copy.deepcopy(model)
        for member in row.members:
            by_hand.get_submodule(member).load_state_dict(
                trained_mlp.get_submodule(member).state_dict()
            )
        again = predictions(by_hand, inputs)
        undone = again[flips] == base_pred[flips]
        assert row.undone == int(undone.sum())
        assert row.created == int((again[sample] != base_pred[sample]).sum())
        classes, counts = np.unique(labels.numpy()[flips][undone], return_counts=True)
        assert row.undone_by_class == {str(c): int(n) for c, n in zip(classes, counts, strict=True)}


def test_the_greedy_set_reaches_the_target_jointly(trained_mlp, digits) -> None:
    """Both layers heavily damaged: neither alone undoes the flips, the two together do."""
    model = damaged(damaged(trained_mlp, "body.0", 0.0), "classifier", 0.0, seed=1)
    result = attribution(trained_mlp, model, digits, target=0.95)
    assert max(row.undone_share for row in result.rows) < 0.95
    assert result.reached and result.greedy[-1].cumulative_share >= 0.95
    assert sorted(result.greedy_set) == ["body.0", "classifier"]
    shares = [step.cumulative_share for step in result.greedy]
    assert shares == sorted(shares)
    assert sum(c.greedy_undone for c in result.by_class) == result.greedy[-1].undone
    assert sum(c.flips for c in result.by_class) == result.flips


def test_a_narrower_model_reports_the_mismatched_modules_unrestorable(trained_mlp) -> None:
    """Structured pruning's effect: hidden 32 → 16 changes both layers' shapes."""
    narrow = digits_mlp(hidden=16)
    units = {u.name: u for u in restoration_units(trained_mlp, narrow)}
    assert not units["body.0"].restorable and not units["classifier"].restorable
    assert units["body.0"].reason == (
        "shape mismatch: weight is [32, 64] in the base, [16, 64] in the model "
        "(structured pruning removed channels)"
    )
    assert "weight is [10, 32] in the base, [10, 16]" in str(units["classifier"].reason)


def test_unrestorable_modules_are_skipped_not_run(trained_mlp, digits) -> None:
    inputs, labels = digits
    torch.manual_seed(0)
    narrow = digits_mlp(hidden=16)
    base_pred = predictions(trained_mlp, inputs)
    flips = np.flatnonzero(base_pred != predictions(narrow, inputs))
    result = attribute_flips(
        trained_mlp, narrow, inputs[flips], labels.numpy()[flips], base_pred[flips]
    )
    rows = {row.module: row for row in result.rows}
    assert not rows["body.0"].restorable and rows["body.0"].undone == 0
    assert str(rows["body.0"].reason).startswith("shape mismatch: weight is [32, 64]")
    assert result.cost.evaluations == 1  # the model as is; nothing restorable was run
    assert result.greedy == [] and not result.reached
    grouped = attribute_flips(
        trained_mlp,
        narrow,
        inputs[flips],
        labels.numpy()[flips],
        base_pred[flips],
        grouping="kinds",
    )
    (linear,) = grouped.rows  # a group's reason names each member it could not restore
    assert linear.module == "kind:linear" and not linear.restorable
    assert str(linear.reason).startswith("body.0: shape mismatch")
    assert "; classifier: shape mismatch" in str(linear.reason)


def test_only_the_flipped_and_control_instances_are_run(trained_mlp, digits) -> None:
    inputs, labels = digits
    model = damaged(trained_mlp, "body.0", 0.3)
    flips, base_pred, model_pred = flipped(trained_mlp, model, inputs, labels)
    sample = control_sample(base_pred, model_pred, 40)
    seen: list[torch.Tensor] = []
    model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].clone()))
    trained_mlp.register_forward_pre_hook(lambda _m, args: seen.append(args[0].clone()))
    result = attribute_flips(
        trained_mlp,
        model,
        inputs[flips],
        labels.numpy()[flips],
        base_pred[flips],
        control_inputs=inputs[sample],
        control_predictions=base_pred[sample],
    )
    ran = torch.cat(seen)
    per_evaluation = len(flips) + len(sample)
    assert len(ran) == result.cost.forward_instances == per_evaluation * result.cost.evaluations
    assert len(ran) < len(inputs) * result.cost.evaluations
    allowed = {tuple(row.tolist()) for row in inputs[np.concatenate([flips, sample])]}
    assert {tuple(row.tolist()) for row in ran} <= allowed
    # the model as is, then body.0 alone; the classifier holds the base's values: not run,
    # and the greedy set's first step reuses body.0's lone run
    assert result.cost.evaluations == 2
    rows = {row.module: row for row in result.rows}
    assert rows["classifier"].unchanged and rows["classifier"].undone == 0
    assert not rows["body.0"].unchanged


def test_restoring_puts_everything_back(trained_mlp) -> None:
    model = damaged(trained_mlp, "body.0")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with restored(model, trained_mlp, restoration_units(trained_mlp, model)):
        assert torch.equal(model.body[0].weight, trained_mlp.body[0].weight)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_flip_selection_kinds_and_class() -> None:
    labels = np.array([0, 0, 1, 1, 2])
    base = np.array([0, 1, 1, 1, 2])
    model = np.array([1, 0, 0, 1, 1])
    assert select_flips(labels, base, model).tolist() == [0, 2, 4]
    assert select_flips(labels, base, model, "any").tolist() == [0, 1, 2, 4]
    assert select_flips(labels, base, model, class_=1).tolist() == [2]
    with pytest.raises(FlipAttributionError, match="flips must be one of"):
        select_flips(labels, base, model, "worse")


def test_groups_by_block_and_kind() -> None:
    assert block_of("transformer.h.3.attn.c_attn") == "transformer.h.3"
    assert block_of("classifier") == "classifier"
    model = nn.Module()
    model.h = nn.ModuleList([nn.Module() for _ in range(2)])
    for block in model.h:
        block.attn = nn.Linear(4, 4)
        block.norm = nn.LayerNorm(4)
    units = restoration_units(model, copy.deepcopy(model))
    assert group_units(model, units, "blocks") == {
        "h.0": ["h.0.attn", "h.0.norm"],
        "h.1": ["h.1.attn", "h.1.norm"],
    }
    assert group_units(model, units, "kinds") == {
        "kind:linear": ["h.0.attn", "h.1.attn"],
        "kind:attention": ["h.0.attn", "h.1.attn"],
        "kind:norm": ["h.0.norm", "h.1.norm"],
    }


def test_the_record_round_trips_through_json(trained_mlp, digits) -> None:
    result = attribution(trained_mlp, damaged(trained_mlp, "classifier", 0.2), digits)
    assert FlipAttribution.from_json(result.to_json()) == result


def test_bad_settings_fail_before_running(trained_mlp, digits) -> None:
    with pytest.raises(FlipAttributionError, match="target must be within"):
        attribution(trained_mlp, trained_mlp, digits, target=1.5)
    with pytest.raises(FlipAttributionError, match="groups must be one of"):
        attribution(trained_mlp, trained_mlp, digits, grouping="layers")


def test_a_dynamic_int8_model_takes_the_float_modules_back(trained_mlp, digits) -> None:
    """torch.ao swaps nn.Linear for a dynamic int8 module (float in, float out): restoring
    puts the base's float module in its place, and takes it out again."""
    inputs, _ = digits
    quantized = dynamic_int8(
        copy.deepcopy(trained_mlp), DynamicInt8Params.model_validate({"backend": "torch.ao"})
    )
    units = restoration_units(trained_mlp, quantized)
    assert all(unit.restorable and unit.swap for unit in units)
    int8_type = type(quantized.classifier)
    with restored(quantized, trained_mlp, units), torch.inference_mode():
        assert torch.equal(quantized(inputs), trained_mlp(inputs))
    assert type(quantized.classifier) is int8_type


def test_a_static_int8_model_says_why_it_cannot_be_restored(trained_mlp, digits) -> None:
    inputs, _ = digits
    prepared = prepare_static(copy.deepcopy(trained_mlp), inputs[:1])
    with torch.no_grad():
        prepared(inputs[:64])
    units = {u.name: u for u in restoration_units(trained_mlp, convert_static(prepared))}
    assert not any(unit.restorable for unit in units.values())
    assert "computes on quantized activations" in str(units["classifier"].reason)
