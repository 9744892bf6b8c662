"""Importing this module registers every operation compresslens ships."""

from __future__ import annotations
