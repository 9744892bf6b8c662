"""Fine-tuning and distillation keep pruning and teach; BatchNorm recalibration is exact."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import compresslens as cl
from compresslens.data.arrays import DatasetArrays
from compresslens.errors import OperationError
from compresslens.models.zoo import small_cnn
from compresslens.ops.finetune import TrainParams, distillation_loss
from compresslens.ops.registry import OperationContext, get_operation
from compresslens.ops.train_params import ScratchTrainParams
from factories import digits_mlp

Digits = tuple[torch.Tensor, torch.Tensor]


def _apply(name: str, model: nn.Module, context: OperationContext, **params: Any) -> nn.Module:
    operation = get_operation(name)
    return operation.apply(model, operation.validate(params), context)


def _context(data: Digits, *parents: nn.Module, seed: int = 0) -> OperationContext:
    arrays = DatasetArrays(inputs=data[0], labels=data[1])
    return OperationContext(seed=seed, parents=list(parents), load_dataset=lambda _: arrays)


def _pruned(model: nn.Module) -> nn.Module:
    """Zero the smaller half (by magnitude) of every Linear weight, in place."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                w = module.weight
                w.masked_fill_(w.abs() <= w.abs().median(), 0.0)
    return model


def _zero_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p == 0 for n, p in model.named_parameters() if n.endswith("weight")}


def _loss(model: nn.Module, data: Digits) -> float:
    with torch.no_grad():
        return float(F.cross_entropy(model(data[0]), data[1]))


def _kl(teacher: nn.Module, student: nn.Module, inputs: torch.Tensor) -> float:
    with torch.no_grad():
        return float(
            F.kl_div(
                F.log_softmax(student(inputs), 1),
                F.log_softmax(teacher(inputs), 1),
                reduction="batchmean",
                log_target=True,
            )
        )


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# -- train.finetune ----------------------------------------------------------------------------


def test_finetune_keeps_pruned_weights_exactly_zero_and_trains_the_rest(
    trained_mlp: nn.Module, digits: Digits
) -> None:
    model = _pruned(trained_mlp)
    before = copy.deepcopy(model)
    zeros = _zero_masks(model)
    assert all(mask.float().mean() >= 0.5 for mask in zeros.values())

    tuned = _apply("train.finetune", model, _context(digits, model), dataset="d", epochs=3)

    after = dict(tuned.named_parameters())
    old = dict(before.named_parameters())
    for name, mask in zeros.items():
        assert torch.equal(after[name][mask], torch.zeros(int(mask.sum())))
        assert (after[name][~mask] != old[name][~mask]).float().mean() > 0.9
    assert _loss(tuned, digits) < _loss(before, digits)


def test_finetune_same_seed_is_bit_identical_and_seed_matters(
    trained_mlp: nn.Module, digits: Digits
) -> None:
    runs = [
        _apply(
            "train.finetune",
            _pruned(copy.deepcopy(trained_mlp)),
            _context(digits, seed=s),
            dataset="d",
        )
        for s in (3, 3, 4)
    ]
    assert _same_weights(runs[0], runs[1])
    assert not _same_weights(runs[0], runs[2])


def test_finetune_limit_trains_on_the_first_instances_only(
    trained_mlp: nn.Module, digits: Digits
) -> None:
    first = (digits[0][:200], digits[1][:200])
    limited = _apply(
        "train.finetune", copy.deepcopy(trained_mlp), _context(digits), dataset="d", limit=200
    )
    on_subset = _apply("train.finetune", copy.deepcopy(trained_mlp), _context(first), dataset="d")
    assert _same_weights(limited, on_subset)


def test_train_params_extend_scratch_params_and_refuse_bad_values() -> None:
    assert issubclass(TrainParams, ScratchTrainParams)
    operation = get_operation("train.finetune")
    assert operation.normalized({"dataset": "digits"}) == {
        "dataset": "digits",
        "epochs": 1,
        "lr": 1e-3,
        "batch_size": 128,
        "limit": None,
        "weight_decay": 0.0,
        "lr_schedule": "constant",
    }
    for bad in ({}, {"dataset": "d", "epochs": 0}, {"dataset": "d", "momentum": 0.9}):
        with pytest.raises(OperationError, match=r"bad parameters for train\.finetune"):
            operation.validate(bad)


# -- train.distill -----------------------------------------------------------------------------


def test_distillation_loss_is_weighted_kl_at_temperature_plus_ce() -> None:
    student_logits = torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]])
    teacher_logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    labels = torch.tensor([0, 1])
    teacher = nn.Identity()  # the "inputs" below are the teacher's logits
    t, alpha = 2.0, 0.3
    p = F.softmax(teacher_logits / t, 1)
    q = F.softmax(student_logits / t, 1)
    kl = (p * (p.log() - q.log())).sum(1).mean()
    expected = alpha * t * t * kl + (1 - alpha) * F.cross_entropy(student_logits, labels)
    loss = distillation_loss(teacher, t, alpha)(student_logits, labels, teacher_logits)
    assert torch.allclose(loss, expected, atol=1e-6)


def test_distill_moves_the_student_toward_an_untouched_teacher(
    trained_mlp: nn.Module, digits: Digits
) -> None:
    torch.manual_seed(1)
    student = _pruned(digits_mlp())
    zeros = _zero_masks(student)
    teacher = trained_mlp
    kl_before = _kl(teacher, student, digits[0])
    teacher_before = copy.deepcopy(teacher)
    teacher.train()  # distillation evaluates it in eval mode, then gives its mode back

    context = _context(digits, student, teacher, seed=2)
    distilled = _apply(
        "train.distill", copy.deepcopy(student), context, dataset="d", alpha=1.0, epochs=3
    )

    assert teacher.training and _same_weights(teacher, teacher_before)
    assert _kl(teacher.eval(), distilled, digits[0]) < 0.5 * kl_before
    weights = dict(distilled.named_parameters())
    assert all(not weights[name][mask].any() for name, mask in zeros.items())


def test_distill_is_deterministic_and_alpha_zero_is_finetuning(
    trained_mlp: nn.Module, digits: Digits
) -> None:
    torch.manual_seed(1)
    student = digits_mlp()

    def distilled(alpha: float) -> nn.Module:
        context = _context(digits, student, trained_mlp, seed=5)
        return _apply("train.distill", copy.deepcopy(student), context, dataset="d", alpha=alpha)

    assert _same_weights(distilled(0.7), distilled(0.7))
    tuned = _apply("train.finetune", copy.deepcopy(student), _context(digits, seed=5), dataset="d")
    assert _same_weights(distilled(0.0), tuned)


def test_distill_without_a_teacher_says_how_to_give_one(digits: Digits) -> None:
    student = digits_mlp()
    with pytest.raises(OperationError, match=r"needs a teacher model: pass teacher="):
        _apply("train.distill", student, _context(digits, student), dataset="d")


def test_distill_refuses_a_teacher_with_other_classes(digits: Digits) -> None:
    student, teacher = digits_mlp(), digits_mlp(num_classes=7)
    with pytest.raises(OperationError, match=r"student outputs \[2, 10\] but the teacher \[2, 7\]"):
        _apply("train.distill", student, _context(digits, student, teacher), dataset="d")


# -- bn.recalibrate ----------------------------------------------------------------------------


def _bn_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 10),
    )  # fmt: skip


def _bn_inputs(model: nn.Module, inputs: torch.Tensor) -> dict[nn.Module, torch.Tensor]:
    """Every BatchNorm layer's input [channels, values] in eval mode, captured by hooks."""
    seen: dict[nn.Module, torch.Tensor] = {}
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    hooks = [
        layer.register_forward_pre_hook(
            lambda m, args: seen.__setitem__(m, args[0].transpose(0, 1).flatten(1).double())
        )
        for layer in layers
    ]
    with torch.no_grad():
        model.eval()(inputs)
    for hook in hooks:
        hook.remove()
    return seen


def _assert_stats_match(layer: nn.Module, values: torch.Tensor) -> None:
    mean, var = values.mean(1), values.var(1, unbiased=False)
    assert torch.allclose(layer.running_mean.double(), mean, rtol=1e-5, atol=1e-5)
    assert torch.allclose(layer.running_var.double(), var, rtol=1e-4, atol=1e-5)


def test_recalibrate_sets_exact_mean_and_biased_var_over_many_batches(digits: Digits) -> None:
    model = _bn_mlp()
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    recalibrated = _apply(
        "bn.recalibrate", model, _context(digits), dataset="d", batches=None, batch_size=100
    )

    first_bn = recalibrated[1]
    _assert_stats_match(first_bn, _bn_inputs(recalibrated, digits[0])[first_bn])
    assert int(first_bn.num_batches_tracked) == 18  # 1797 = 17 × 100 + 97
    assert not recalibrated.training
    assert all(torch.equal(p, weights[n]) for n, p in recalibrated.named_parameters())


def test_recalibrate_in_one_batch_matches_every_layer_in_eval_mode(digits: Digits) -> None:
    model = _bn_mlp()
    recalibrated = _apply("bn.recalibrate", model, _context(digits), dataset="d", batch_size=2000)
    seen = _bn_inputs(recalibrated, digits[0])
    assert len(seen) == 2
    for layer, values in seen.items():
        _assert_stats_match(layer, values)


def test_recalibrate_conv_batchnorm_uses_only_the_requested_batches() -> None:
    torch.manual_seed(0)
    images = torch.rand(40, 1, 12, 12)
    model = small_cnn(num_classes=4, width=4, hidden=8, image_size=12)
    data = (images, torch.zeros(40, dtype=torch.int64))
    recalibrated = _apply(
        "bn.recalibrate", model, _context(data), dataset="d", batches=1, batch_size=40
    )
    layers = [m for m in recalibrated.modules() if isinstance(m, nn.BatchNorm2d)]
    seen = _bn_inputs(recalibrated, images)
    for layer in layers:
        assert int(layer.num_batches_tracked) == 1
        _assert_stats_match(layer, seen[layer])


def test_recalibrate_refuses_a_model_without_batchnorm(digits: Digits) -> None:
    with pytest.raises(OperationError, match="no BatchNorm layer"):
        _apply("bn.recalibrate", digits_mlp(), _context(digits), dataset="d")


# -- through the workspace ---------------------------------------------------------------------


def test_workspace_finetune_and_distill_record_their_edges(
    digits_workspace: cl.Workspace, trained_mlp: nn.Module
) -> None:
    ws = digits_workspace
    pruned = ws.add_model(
        _pruned(copy.deepcopy(trained_mlp)), name="mlp-pruned", factory="factories:digits_mlp"
    )
    zeros = _zero_masks(ws.load_model(pruned))

    tuned = ws.compress(pruned, "train.finetune", dataset="digits", epochs=1, seed=3)
    assert tuned.operation is not None
    assert tuned.operation.name == "train.finetune"
    assert tuned.operation.seed == 3
    assert tuned.operation.params == TrainParams(dataset="digits").model_dump(mode="json")
    assert tuned.operation.parents == [{"id": pruned.id, "role": "input"}]
    stored = dict(ws.load_model(tuned).named_parameters())
    assert all(not stored[name][mask].any() for name, mask in zeros.items())

    distilled = ws.compress(pruned, "train.distill", teacher="mlp", dataset="digits")
    assert distilled.operation is not None
    assert distilled.operation.params["temperature"] == 4.0
    assert distilled.operation.params["alpha"] == 0.7
    assert distilled.operation.parents == [
        {"id": pruned.id, "role": "input"},
        {"id": ws.model("mlp").id, "role": "teacher"},
    ]
    with pytest.raises(OperationError, match="needs a teacher"):
        ws.compress(pruned, "train.distill", dataset="digits")
