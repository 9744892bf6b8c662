"""Keep known third-party noise out of the command line's output (not out of the library).

torch.ao warns on every quantized module it builds, torchao logs the optional CUDA kernels it
cannot load on a CPU machine, torch logs a pytree deprecation on torchao's import, and
transformers draws a progress bar per model it loads; none of it is actionable for a
compresslens user. The CLI sets QUIET_ENV so spawned sweep
workers stay quiet too.
"""

from __future__ import annotations

import logging
import os
import warnings

QUIET_ENV = "COMPRESSLENS_QUIET_LIBRARIES"


def quiet_library_noise() -> None:
    os.environ[QUIET_ENV] = "1"
    for module in (r"torch\.ao(\..*)?", r"torchao(\..*)?", r"torch\.nn\.modules\.module"):
        warnings.filterwarnings("ignore", category=UserWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
    warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
    warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*deprecated.*")
    for logger in ("torchao", "torch.utils._pytree", "transformers"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    # transformers' per-load progress bars and advice (read when transformers is imported)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def quiet_if_asked() -> None:
    """In a spawned worker: quiet the same noise when the parent CLI did."""
    if os.environ.get(QUIET_ENV) == "1":
        quiet_library_noise()
