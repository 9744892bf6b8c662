"""Which modules compresslens may import: a workspace names code, and only trusted code runs.

A workspace copied from someone else must be as safe to open as a safetensors file, so a
factory or plugin module is imported only when the user trusts it: compresslens's own
modules, the modules listed in $COMPRESSLENS_TRUST (what `compresslens --trust` sets), and
the per-user trust file (`compresslens trust add`), to which registering a model from a
factory adds its module. Trusting a package trusts its submodules. No torch here: the CLI
reads this module to start at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from compresslens.errors import TrustFileError, UntrustedCodeError

TRUST_ENV = "COMPRESSLENS_TRUST"
CONFIG_ENV = "COMPRESSLENS_CONFIG_DIR"
TRUST_FILE_NAME = "trust.json"
TRUST_FILE_VERSION = 1
ALWAYS_TRUSTED = ("compresslens",)
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
HOW_TO_TRUST = (
    "`compresslens trust add {module}` (remembered for this user), "
    "`compresslens --trust {module} COMMAND` or ${env}={module} (this run only)"
)

# modules registered in this process when the trust file could not be written
_remembered_here: set[str] = set()


def check_module_name(module: str) -> str:
    """A dotted module name (`pkg.mod`); anything else could not name one module."""
    if not isinstance(module, str) or not MODULE_NAME.fullmatch(module):
        raise UntrustedCodeError(
            f"{module!r} is not a module name: give a dotted name such as 'my_models' or "
            "'my_pkg.nets'"
        )
    return module


def config_dir() -> Path:
    """$COMPRESSLENS_CONFIG_DIR, else $XDG_CONFIG_HOME/compresslens, else ~/.config/compresslens."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "compresslens"


def trust_file() -> Path:
    return config_dir() / TRUST_FILE_NAME


def modules_from_environment() -> list[str]:
    """$COMPRESSLENS_TRUST: module names separated by commas."""
    named = [part.strip() for part in os.environ.get(TRUST_ENV, "").split(",")]
    try:
        return [check_module_name(name) for name in named if name]
    except UntrustedCodeError as exc:
        raise UntrustedCodeError(f"${TRUST_ENV}: {exc}") from None


def modules_from_file(path: Path | None = None) -> list[str]:
    """The modules the trust file lists (none when there is no file)."""
    path = trust_file() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise TrustFileError(f"cannot read the trust file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
        modules = data["modules"]
        if not isinstance(modules, list):
            raise TypeError("modules is not a list")
        return [check_module_name(module) for module in modules]
    except (ValueError, KeyError, TypeError, UntrustedCodeError) as exc:
        raise TrustFileError(
            f"the trust file {path} is damaged ({exc}); fix it or delete it and trust your "
            "modules again with `compresslens trust add MODULE`"
        ) from None


def trusted_modules() -> list[str]:
    """Every trusted name, in the order: compresslens, environment, this process, trust file."""
    named = [
        *ALWAYS_TRUSTED,
        *modules_from_environment(),
        *sorted(_remembered_here),
        *modules_from_file(),
    ]
    return list(dict.fromkeys(named))


def covers(trusted: str, module: str) -> bool:
    """Trusting a package trusts its submodules: 'a' covers 'a' and 'a.b', never 'ab'."""
    return module == trusted or module.startswith(f"{trusted}.")


def is_trusted(module: str) -> bool:
    """Whether `module` may be imported; the trust file is read only when it has to be."""
    quick = [*ALWAYS_TRUSTED, *modules_from_environment(), *_remembered_here]
    if any(covers(name, module) for name in quick):
        return True
    return any(covers(name, module) for name in modules_from_file())


def check_trusted(module: str, what: str) -> None:
    """Raise UntrustedCodeError, saying how to trust `module`, before anything imports it.

    `what` says who asked, e.g. "the factory 'evil:make' of model 'base'".
    """
    check_module_name(module)
    if not is_trusted(module):
        how = HOW_TO_TRUST.format(module=module, env=TRUST_ENV)
        raise UntrustedCodeError(
            f"{what} needs module {module!r}, which you have not trusted, so it is not imported "
            f"(a workspace or recipe from elsewhere could name any code). If you trust it: {how}"
        )


def trust(modules: Iterable[str]) -> list[str]:
    """Add modules to the trust file; returns those that were not trusted before."""
    names = [check_module_name(module) for module in modules]
    with _locked_file() as path:
        listed = modules_from_file(path)
        added = [name for name in dict.fromkeys(names) if name not in listed]
        if added:
            _write(path, [*listed, *added])
    return added


def untrust(modules: Iterable[str]) -> list[str]:
    """Remove modules from the trust file; returns those it listed."""
    names = set(modules)
    with _locked_file() as path:
        listed = modules_from_file(path)
        removed = [name for name in listed if name in names]
        if removed:
            _write(path, [name for name in listed if name not in names])
    return removed


def remember(module: str) -> None:
    """The user registers a model from `module` here: trust it from now on (the trust file).

    Where the file cannot be written, the module is trusted in this process only, with a
    warning, so registering still works on a read-only home.
    """
    check_module_name(module)
    if is_trusted(module):
        return
    try:
        trust([module])
    except (OSError, TrustFileError) as exc:
        _remembered_here.add(module)
        warnings.warn(
            f"could not record {module!r} in the trust file ({exc}); it is trusted in this "
            f"process only: trust it with `compresslens trust add {module}`",
            stacklevel=2,
        )


@contextlib.contextmanager
def _locked_file() -> Iterator[Path]:
    """The trust file, locked against other processes recording a module at the same time."""
    path = trust_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.with_name(f".{TRUST_FILE_NAME}.lock"), "a") as lock:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; the write below is still atomic
            yield path
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, modules: list[str]) -> None:
    """Write the whole file under a temporary name, then rename: never half a file."""
    text = json.dumps({"version": TRUST_FILE_VERSION, "modules": modules}, indent=2) + "\n"
    handle, temporary = tempfile.mkstemp(prefix=f".{TRUST_FILE_NAME}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
