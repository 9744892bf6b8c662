"""Commands that add to the workspace without Python: add-dataset, add-model, train, compress."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from compresslens.cli.app import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    fail,
    open_workspace,
    progress_bars,
    stdout,
)
from compresslens.cli.dataset_sources import SOURCE_HELP, add_from_source
from compresslens.cli.format import human_bytes, human_count
from compresslens.cli.model_sources import ModelRequest, add_model_from, parse_input_shape
from compresslens.cli.params import parse_key_values
from compresslens.errors import CompressLensError
from compresslens.models.hf_tasks import TASKS

ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="KEY=VALUE (YAML value: 0.5, [a, b], global); repeatable."),
]
SeedOption = Annotated[int, typer.Option(min=0, help="Seed; another seed is another model.")]
NameOption = Annotated[str | None, typer.Option(help="Name of the new model (default: generated).")]
EvaluateOption = Annotated[
    list[str] | None,
    typer.Option("--evaluate", "-e", help="Evaluate the new model on this dataset; repeatable."),
]
LatencyOption = Annotated[
    bool, typer.Option(help="With --evaluate: measure CPU latency if not yet measured.")
]
# given by their own options: as a -p/-k key they would collide with the call's arguments
TRAIN_OWN_OPTIONS = ("dataset", "seed", "name", "tags", "on_step")
COMPRESS_OWN_OPTIONS = ("seed", "name", "teacher", "tags", "record_failure")


@app.command("add-dataset")
def add_dataset(
    name: Annotated[str, typer.Argument(help="Name of the dataset in the workspace.")],
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    class_names: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated names, one per label 0, 1, … (default: the labels); for "
            "texts labelled by name, their order (default: as they first appear)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Keep the first N instances.")] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            metavar="FOLDER",
            help="Texts (.jsonl, .csv): a local tokenizer folder (usually the model's own) that "
            "turns them into token ids and attention masks.",
        ),
    ] = None,
    max_length: Annotated[
        int | None,
        typer.Option(min=1, help="Texts: keep at most this many tokens of each (default 128)."),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Register a dataset from a file or a built-in source (the same data again is a no-op).

    Text labels are class ids (0, 1, …) or names; names are numbered in the order
    --class-names gives, else in the order they first appear.
    """
    try:
        ws = open_workspace(workspace)
        info = add_from_source(
            ws,
            name,
            source,
            class_names=_split_names(class_names),
            limit=limit,
            tokenizer=tokenizer,
            max_length=max_length,
        )
    except CompressLensError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"dataset": info.to_dict()}, indent=2))
        return
    attributes = f", attributes {', '.join(info.attribute_names)}" if info.attribute_names else ""
    stdout().print(
        escape(
            f"{info.id[:8]}  {info.name}: {info.num_instances} instances, {info.num_classes} "
            f"classes, {info.modality} input {info.input_shape} {info.input_dtype}{attributes}"
        ),
        soft_wrap=True,
    )


def _split_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise CompressLensError(f"--class-names {text!r} has an empty name")
    return names


@app.command("add-model")
def add_model(
    name: Annotated[str, typer.Argument(help="Name of the model in the workspace.")],
    hf: Annotated[
        str | None,
        typer.Option(
            "--hf",
            metavar="FOLDER",
            help="A Hugging Face model folder (save_pretrained); nothing is downloaded.",
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(help=f"With --hf: {', '.join(TASKS)} (default sequence-classification)."),
    ] = None,
    num_labels: Annotated[
        int | None,
        typer.Option(min=1, help="With --hf: a classification head for this many classes."),
    ] = None,
    factory: Annotated[
        str | None,
        typer.Option(
            metavar="package.module:function",
            help="Your own module's function that builds the model (see --path).",
        ),
    ] = None,
    kwarg: Annotated[
        list[str] | None,
        typer.Option("--kwarg", "-k", help="Factory argument KEY=VALUE (YAML value); repeatable."),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="With --factory: a state dict in .safetensors or .pt (read as tensors only, "
            "never unpickled); without it, the factory's own weights (seed 0).",
        ),
    ] = None,
    input_shape: Annotated[
        str | None,
        typer.Option(
            metavar="SIZES",
            help="With --factory: the shape of ONE instance, WITHOUT the batch dimension, e.g. "
            "1,28,28 for a grey 28×28 image (default: of the first dataset it runs on).",
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Register a model: a Hugging Face folder (--hf) or your own factory (--factory)."""
    try:
        request = ModelRequest(
            name,
            hf=hf,
            task=task,
            num_labels=num_labels,
            factory=factory,
            factory_kwargs=parse_key_values(kwarg, "--kwarg"),
            weights=weights,
            input_shape=None if input_shape is None else parse_input_shape(input_shape),
        )
        ws = open_workspace(workspace)
        info = add_model_from(ws, request)
    except CompressLensError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"model": info.to_dict()}, indent=2))
        return
    out = stdout()
    task_name = info.factory_kwargs.get("task") if hf is not None else None
    made = f"{info.factory}, {task_name}" if task_name else info.factory
    out.print(escape(f"{info.id[:8]}  {info.name}  ({made})"), soft_wrap=True)
    e = info.efficiency
    out.print(
        f"  {human_count(e.get('parameters'))} parameters; "
        f"{human_bytes(e.get('dense_bytes'))} dense, "
        f"{human_bytes(e.get('compressed_bytes'))} compressed"
    )
    from compresslens.data.inputs import describe_spec

    spec = (
        describe_spec(info.input_spec)
        if info.input_spec
        else "unknown (give --input-shape; evaluating it on a dataset also records it)"
    )
    out.print(escape(f"  input: {spec}"), soft_wrap=True)


@app.command()
def train(
    factory: Annotated[
        str,
        typer.Argument(help="package.module:function that builds the model (see --path)."),
    ],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset to train on.")],
    kwarg: Annotated[
        list[str] | None,
        typer.Option("--kwarg", "-k", help="Factory argument KEY=VALUE (YAML value); repeatable."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Training KEY=VALUE: epochs, lr, batch_size, limit, weight_decay, lr_schedule.",
        ),
    ] = None,
    seed: SeedOption = 0,
    name: NameOption = None,
    evaluate_on: EvaluateOption = None,
    latency: LatencyOption = True,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Train a model from scratch; the same factory, data, parameters and seed is a cache hit."""
    try:
        factory_kwargs = parse_key_values(kwarg, "--kwarg")
        params = _own_options_refused(parse_key_values(param), TRAIN_OWN_OPTIONS)
        ws = open_workspace(workspace)
        _check_datasets(ws, evaluate_on)
        with progress_bars() as update:
            info = ws.train(
                factory,
                factory_kwargs,
                dataset=dataset,
                seed=seed,
                name=name,
                on_step=lambda step, total, _loss: update("train", step, total),
                **params,
            )
            evaluations = _evaluate(ws, info.id, evaluate_on, latency, update)
    except CompressLensError as exc:
        fail(exc)
    _report(ws, info.id, evaluations, as_json)


@app.command()
def compress(
    model: Annotated[str, typer.Argument(help="Model to compress: id, id prefix or name.")],
    op: Annotated[str, typer.Argument(help="Operation, e.g. prune.magnitude (README table).")],
    param: ParamOption = None,
    seed: SeedOption = 0,
    name: NameOption = None,
    teacher: Annotated[
        str | None, typer.Option(help="Second parent (train.distill, restore): id or name.")
    ] = None,
    evaluate_on: EvaluateOption = None,
    latency: LatencyOption = True,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Apply one operation to a stored model and store the child (the same call is a cache hit)."""
    try:
        params = _own_options_refused(parse_key_values(param), COMPRESS_OWN_OPTIONS)
        ws = open_workspace(workspace)
        _check_datasets(ws, evaluate_on)
        child = ws.compress(model, op, seed=seed, name=name, teacher=teacher, **params)
        with progress_bars() as update:
            evaluations = _evaluate(ws, child.id, evaluate_on, latency, update)
    except CompressLensError as exc:
        fail(exc)
    _report(ws, child.id, evaluations, as_json)


def _own_options_refused(params: dict[str, Any], own: tuple[str, ...]) -> dict[str, Any]:
    for key in own:
        if key in params:
            raise CompressLensError(f"-p {key}=… is an option of its own: use --{key}")
    return params


def _check_datasets(ws: Any, datasets: list[str] | None) -> None:
    """Refuse an unknown --evaluate dataset before training or compressing anything."""
    for dataset in datasets or []:
        ws.dataset(dataset)


def _evaluate(
    ws: Any, model_id: str, datasets: list[str] | None, latency: bool, update: Any
) -> list[Any]:
    evaluations = []
    for dataset in datasets or []:
        ws.evaluate(
            model_id,
            dataset,
            latency=latency,
            progress=lambda done, total, d=dataset: update(f"evaluate {d}", done, total),
        )
        evaluations.append(ws.evaluation(model_id, dataset))
    return evaluations


def _report(ws: Any, model_id: str, evaluations: list[Any], as_json: bool) -> None:
    """The new model: JSON like `show --json`, or its id, name, size and accuracies."""
    info = ws.model(model_id)
    if as_json:
        document = {"model": info.to_dict(), "evaluations": [e.to_dict() for e in evaluations]}
        print(json.dumps(document, indent=2))
        return
    out = stdout()
    op = info.operation
    parents = [ws.model(p["id"]).name for p in op.parents] if op else []
    made = f"{op.name} of {', '.join(parents)}" if parents else (op.name if op else info.source)
    out.print(escape(f"{info.id[:8]}  {info.name}  ({made}, seed {op.seed if op else '–'})"))
    e = info.efficiency
    out.print(
        f"  {human_count(e.get('parameters'))} parameters, "
        f"{human_count(e.get('nonzero_parameters'))} non-zero; "
        f"{human_bytes(e.get('dense_bytes'))} dense, "
        f"{human_bytes(e.get('compressed_bytes'))} compressed"
    )
    parent = ws.model(op.parents[0]["id"]) if parents else None
    for evaluation in evaluations:
        accuracy = evaluation.metrics["accuracy"]
        before = parent.metrics.get(evaluation.dataset_name, {}) if parent else {}
        was = f" (parent {before['accuracy']:.4f})" if "accuracy" in before else ""
        out.print(escape(f"  {evaluation.dataset_name}: accuracy {accuracy:.4f}{was}"))
