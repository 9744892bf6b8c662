"""Library versions recorded on every operation edge, so a result can be traced to its tools."""

from __future__ import annotations

import platform
from importlib import metadata

TRACKED = ("compresslens", "torch", "numpy", "safetensors", "torchao", "torch-pruning")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
