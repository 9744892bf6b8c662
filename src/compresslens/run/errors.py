"""The error a bad recipe raises: it names the file, the line and the place in the recipe."""

from __future__ import annotations

from compresslens.errors import CompressLensError


class RecipeError(CompressLensError):
    """A recipe that cannot be read, validated or planned; nothing has run yet."""
