"""Generated malformed recipes (wrong types, unknown operations, bad seeds and names, binary
text) given to `compresslens run`: each is refused with one error line and exit code 1, never
a traceback, and the workspace is unchanged."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app
from compresslens.run.recipe_schema import STAGE_NAME
from factories import MLP_FACTORY, digits_mlp
from workspace_hash import workspace_hash

pytestmark = pytest.mark.slow  # 300 runs of the CLI: about 15 s

VALID: dict[str, Any] = {
    "datasets": {"abc": {}},
    "base": {"model": "m"},
    "evaluate": {"datasets": ["abc"], "latency": False},
    "stages": [{"name": "p", "op": "prune.magnitude", "grid": {"amount": [0.5]}}],
}
FIELDS = {"name", "threads", "plugins", "datasets", "base", "evaluate", "stages"}
# letters and signs that no parser reads as an integer, a number or a boolean
not_typed = st.text(alphabet="qzk!@#%&*~", min_size=1, max_size=20)
bad_seeds = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=2**63, max_value=2**90),
    st.floats(allow_nan=False).filter(lambda x: x != int(x) if abs(x) < 1e300 else True),
    not_typed,
)
not_an_op = st.text(max_size=30).filter(lambda op: "." not in op)
not_a_stage_name = st.text(max_size=30).filter(lambda n: not re.match(STAGE_NAME, n))
not_positive = st.one_of(st.integers(max_value=0), not_typed)


def mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    recipe = copy.deepcopy(VALID)
    target = recipe
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return recipe


documents = st.one_of(
    not_an_op.map(lambda op: mutated(("stages", 0, "op"), op)),
    not_a_stage_name.map(lambda n: mutated(("stages", 0, "name"), n)),
    st.lists(bad_seeds, min_size=1, max_size=3).map(lambda s: mutated(("base", "seeds"), s)),
    st.lists(bad_seeds, min_size=1, max_size=3).map(lambda s: mutated(("stages", 0, "seeds"), s)),
    not_positive.map(lambda n: mutated(("threads",), n)),
    not_positive.map(lambda n: mutated(("evaluate", "batch_size"), n)),
    st.lists(not_typed, min_size=1, max_size=3).map(
        lambda v: mutated(("stages", 0, "grid", "amount"), v)
    ),
    st.floats(min_value=1.0).map(lambda a: mutated(("stages", 0, "grid", "amount"), [a])),
    st.one_of(st.integers(), not_typed, st.lists(st.integers(), min_size=1, max_size=2)).map(
        lambda v: mutated(("stages",), v)
    ),
    not_typed.map(lambda s: mutated(("datasets",), {"d": {"source": s}})),
    st.tuples(st.from_regex(r"\A[a-z_]{1,12}\Z").filter(lambda k: k not in FIELDS), not_typed).map(
        lambda kv: mutated((kv[0],), kv[1])
    ),
)
valid_text = yaml.safe_dump(VALID)


@st.composite
def recipe_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["document", "document", "document", "control", "binary"]))
    if kind == "document":
        return yaml.safe_dump(draw(documents), allow_unicode=True).encode()
    if kind == "control":  # a character YAML does not allow, somewhere in a valid recipe
        at = draw(st.integers(0, len(valid_text)))
        char = draw(st.sampled_from([*map(chr, range(1, 9)), "\x0e", "\x1f", "\x7f", "\ufffe"]))
        return (valid_text[:at] + char + valid_text[at:]).encode()
    data = draw(st.binary(min_size=1, max_size=200))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return b"\xff" + data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Dataset "abc" and a 4→3 MLP "m": what the valid recipe above sweeps over."""
    location = tmp_path_factory.mktemp("bad-recipes") / "ws"
    ws = cl.Workspace(location)
    labels = np.repeat([0, 1, 2], 4)
    ws.add_dataset("abc", np.zeros((12, 4), dtype=np.float32), labels, class_names="abc")
    kwargs = {"in_features": 4, "hidden": 8, "num_classes": 3}
    ws.add_model(digits_mlp(**kwargs), name="m", factory=MLP_FACTORY, factory_kwargs=kwargs)
    ws.close()
    yield str(location)


@settings(
    max_examples=300,
    derandomize=True,  # the same examples on every run: CI never flakes on a new one
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=recipe_bytes())
def test_a_malformed_recipe_is_refused_in_one_line_and_changes_nothing(
    folder: str, tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    recipe = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    recipe.write_bytes(data)
    before = workspace_hash(folder)
    result = CliRunner().invoke(app, ["run", str(recipe), "-w", folder])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1 and result.output.startswith("error:"), result.output
    assert workspace_hash(folder) == before


def test_the_recipe_the_mutations_start_from_is_valid(folder: str, tmp_path: Path) -> None:
    """Without this, every mutation above could be refused for a reason of its own."""
    from compresslens.run import load_recipe

    (tmp_path / "recipe.yaml").write_text(valid_text)
    assert [s.name for s in load_recipe(tmp_path / "recipe.yaml").stages] == ["p"]
