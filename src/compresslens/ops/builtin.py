"""Importing this module registers every operation compresslens ships."""

from __future__ import annotations

from compresslens.ops import finetune, lowrank, pruning, quantization, restore, structured, wanda

BUILTIN_MODULES = (finetune, lowrank, pruning, quantization, restore, structured, wanda)
