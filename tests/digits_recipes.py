"""Small recipe texts over the digits workspace (tests/conftest.py): magnitude pruning of `mlp`."""

from __future__ import annotations


def pruning_recipe(name: str, amounts: list[float]) -> str:
    """A recipe that prunes the digits `mlp` at each amount and evaluates on digits."""
    return f"""\
name: {name}
datasets:
  digits: {{}}
base:
  model: mlp
evaluate:
  datasets: [digits]
  latency: false
stages:
  - name: pruned
    op: prune.magnitude
    grid: {{amount: {amounts}}}
"""
