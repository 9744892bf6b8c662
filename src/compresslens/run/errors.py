"""The errors of sweeps: a bad recipe (naming its file, line and place), an unusable executor."""

from __future__ import annotations

from compresslens.errors import CompressLensError


class RecipeError(CompressLensError):
    """A recipe that cannot be read, validated or planned; nothing has run yet."""


class ExecutorError(CompressLensError):
    """An executor that cannot run here: unknown, not installed, or its cluster unreachable."""
