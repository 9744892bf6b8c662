"""Helpers for sweep tests: small recipes over the digits data, written to files like a user's."""

from __future__ import annotations

import textwrap
from pathlib import Path

import sweep_ops  # noqa: F401  (registers the sweep.* test operations in this process)

from compresslens.run import Recipe, load_recipe

# A population of two digits MLPs trained in milliseconds, and one grid stage over them.
BASE_RECIPE = """\
name: tiny
plugins: [sweep_ops]
datasets:
  digits: {}
base:
  factory: factories:digits_mlp
  train: {dataset: digits, epochs: 1, batch_size: 256}
  seeds: 2
evaluate:
  datasets: [digits]
  latency: false
stages:
  - name: scaled
    op: sweep.scale
    grid: {factor: [0.5, 2.0]}
"""


def line_of(text: str, fragment: str) -> int:
    """The 1-based number of the first line of `text` containing `fragment`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def write_recipe(folder: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def recipe_from(folder: Path, text: str) -> Recipe:
    return load_recipe(write_recipe(folder, text))
