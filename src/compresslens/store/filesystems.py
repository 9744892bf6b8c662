"""Where artifact bytes live: a local folder, or any fsspec file system named by URL.

Both offer the same few operations on names like `ab/abcdef…`, and both write atomically:
locally a temporary file is fsynced and renamed; an object store shows a single upload whole
or not at all; any other file system gets a temporary name, then a rename. fsspec is
imported only for a URL, so a local workspace opens without it.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from compresslens.errors import ArtifactStoreUnavailableError, MissingExtraError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

TEMPORARY_PREFIX = ".tmp-"
LOCAL_PROTOCOLS = frozenset({"file", "local"})
# A PUT to these stores appears whole or not at all, and a multipart upload only once it is
# completed: writing under the real name directly never exposes a partial object.
OBJECT_STORE_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss"})
EXTRA_OF_PROTOCOL = {"s3": "s3", "s3a": "s3"}  # the compresslens extra installing its package
S3_ENDPOINT_VARIABLES = ("COMPRESSLENS_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


class Folder(Protocol):
    """Flat files under one root, addressed by relative names such as `ab/abcdef…`."""

    @property
    def root(self) -> Path | str: ...

    @property
    def location(self) -> str: ...

    def path_of(self, name: str) -> Path | str: ...

    def write(self, name: str, data: bytes) -> None: ...

    def read(self, name: str) -> bytes: ...

    def is_file(self, name: str) -> bool: ...

    def remove(self, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def temporary_names(self) -> list[str]: ...

    def touch(self, name: str) -> None: ...

    def modified_time(self, name: str) -> float: ...

    def size(self, name: str) -> int: ...


def protocols_of(location: str | Path) -> list[str]:
    """The URL's protocols, outermost first (`simplecache::s3://…` has two); [] for a path."""
    if isinstance(location, Path) or "://" not in location:
        return []
    return [part.lower() for part in location.split("://", 1)[0].split("::")]


def open_folder(location: str | Path, storage_options: Mapping[str, Any] | None = None) -> Folder:
    """A local folder for a path or `file://` URL, else the URL's fsspec file system."""
    protocols = protocols_of(location)
    if not protocols:
        return LocalFolder(Path(location))
    if protocols == ["file"] or protocols == ["local"]:
        return LocalFolder(Path(str(location).split("://", 1)[1]))
    return FsspecFolder(str(location), protocols, storage_options or {})


class LocalFolder:
    """A folder on this machine, written with os calls: temporary file, fsync, rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ArtifactStoreUnavailableError(
                f"cannot create the artifacts folder {root}: {error}"
            ) from None

    @property
    def location(self) -> str:
        """The absolute path, as another process (a sweep worker) opens it."""
        return str(self.root.resolve())

    def path_of(self, name: str) -> Path:
        return self.root / name

    def write(self, name: str, data: bytes) -> None:
        """Concurrent writers of one name each rename their own complete temporary file."""
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def is_file(self, name: str) -> bool:
        return (self.root / name).is_file()

    def remove(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        return [
            f"{p.parent.name}/{p.name}"
            for p in self.root.glob("??/*")
            if not p.name.startswith(TEMPORARY_PREFIX)
        ]

    def temporary_names(self) -> list[str]:
        """Files a writer killed mid-write left behind (it renames them when it finishes)."""
        return [
            f"{p.parent.name}/{p.name}"
            for p in self.root.glob(f"??/{TEMPORARY_PREFIX}*")
            if p.is_file()
        ]

    def touch(self, name: str) -> None:
        os.utime(self.root / name)

    def modified_time(self, name: str) -> float:
        return (self.root / name).stat().st_mtime

    def size(self, name: str) -> int:
        return (self.root / name).stat().st_size


class FsspecFolder:
    """A prefix on any fsspec file system; the file system is opened on first use."""

    def __init__(self, url: str, protocols: list[str], storage_options: Mapping[str, Any]) -> None:
        for protocol in protocols:
            check_installed(protocol, url)
        self.root = url.rstrip("/")
        self.protocols = protocols
        self.options = options_for(protocols[-1], storage_options)

    @property
    def location(self) -> str:
        return self.root

    @cached_property
    def _opened(self) -> tuple[AbstractFileSystem, str]:
        from fsspec.core import url_to_fs

        with self._reaching("open"):
            fs, path = url_to_fs(self.root, **self.options)
        return fs, path.rstrip("/")

    @property
    def fs(self) -> AbstractFileSystem:
        return self._opened[0]

    def _path(self, name: str) -> str:
        return f"{self._opened[1]}/{name}"

    def path_of(self, name: str) -> str:
        return f"{self.root}/{name}"

    @contextmanager
    def _reaching(self, action: str, missing_ok: bool = True) -> Iterator[None]:
        """Errors of the file system's client (no bucket, no access, no network) as ours."""
        try:
            yield
        except FileNotFoundError as error:
            if missing_ok:
                raise
            raise self._unavailable(action, error) from None
        except ArtifactStoreUnavailableError:
            raise
        except ImportError as error:  # a package the file system imports on first use
            raise MissingExtraError(f"artifacts at {self.root!r} need {error}") from None
        except Exception as error:  # any client's own exceptions: botocore, aiohttp, paramiko
            raise self._unavailable(action, error) from None

    def _unavailable(self, action: str, error: BaseException) -> ArtifactStoreUnavailableError:
        reason = str(error) or type(error).__name__
        return ArtifactStoreUnavailableError(
            f"cannot {action} artifacts at {self.root}: {reason} (check the URL, that the "
            "bucket exists, the endpoint and the credentials)"
        )

    def write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        with self._reaching("write", missing_ok=False):
            if self.protocols[-1] in OBJECT_STORE_PROTOCOLS:
                self.fs.pipe_file(path, data)
                return
            parent = path.rsplit("/", 1)[0]
            self.fs.makedirs(parent, exist_ok=True)
            tmp = f"{parent}/{TEMPORARY_PREFIX}{uuid.uuid4().hex}"
            try:
                self.fs.pipe_file(tmp, data)
                self.fs.mv(tmp, path)
            except BaseException:
                with suppress(Exception):  # the first error is the one to report
                    self.fs.rm_file(tmp)
                raise

    def read(self, name: str) -> bytes:
        with self._reaching("read"):
            return bytes(self.fs.cat_file(self._path(name)))

    def is_file(self, name: str) -> bool:
        with self._reaching("read"):
            return bool(self.fs.isfile(self._path(name)))

    def remove(self, name: str) -> None:
        with self._reaching("delete"), suppress(FileNotFoundError):
            self.fs.rm_file(self._path(name))

    def names(self) -> list[str]:
        root = self._opened[1]
        with self._reaching("list"):
            try:
                found = self.fs.find(root)
            except FileNotFoundError:
                return []
        names = []
        for path in found:
            relative = path[len(root) :].lstrip("/") if path.startswith(root) else ""
            parts = relative.split("/")
            if len(parts) == 2 and not parts[1].startswith(TEMPORARY_PREFIX):
                names.append(relative)
        return names

    def temporary_names(self) -> list[str]:
        """Temporary objects a writer killed mid-write left behind."""
        root = self._opened[1]
        with self._reaching("list"):
            try:
                found = self.fs.find(root)
            except FileNotFoundError:
                return []
        relatives = (p[len(root) :].lstrip("/") for p in found if p.startswith(root))
        return [
            r
            for r in relatives
            if len(r.split("/")) == 2 and r.split("/")[1].startswith(TEMPORARY_PREFIX)
        ]

    def touch(self, name: str) -> None:
        """Object stores keep no settable modification time: the same bytes are written
        again (only a writer reusing an existing artifact does this)."""
        self.write(name, self.read(name))

    def modified_time(self, name: str) -> float:
        with self._reaching("read"):
            return self.fs.modified(self._path(name)).timestamp()

    def size(self, name: str) -> int:
        with self._reaching("read"):
            return int(self.fs.size(self._path(name)))


def check_installed(protocol: str, url: str) -> None:
    """A clear error naming the package (and our extra) when a protocol's is missing."""
    from fsspec.registry import known_implementations, registry

    if protocol in registry:
        implementation = registry[protocol].__module__
    elif protocol in known_implementations:
        implementation = known_implementations[protocol]["class"]
    else:
        raise ArtifactStoreUnavailableError(
            f"no file system for {protocol}:// (in {url!r}); known: s3://, gs://, memory://, "
            "a local path, and the other protocols fsspec lists"
        )
    package = implementation.split(".")[0]
    if package != "fsspec" and importlib.util.find_spec(package) is None:
        extra = EXTRA_OF_PROTOCOL.get(protocol)
        install = f"pip install 'compresslens[{extra}]'" if extra else f"pip install {package}"
        raise MissingExtraError(
            f"artifacts at {url!r} need the {package} package, which is not installed: {install}"
        )


def options_for(protocol: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The file system's options: what was given, listings never cached (another process may
    write or delete meanwhile), and for S3 the endpoint from the environment."""
    options: dict[str, Any] = {"use_listings_cache": False, **given}
    if protocol in ("s3", "s3a") and "endpoint_url" not in options:
        client = options.get("client_kwargs") or {}
        endpoint = next((os.environ[v] for v in S3_ENDPOINT_VARIABLES if os.environ.get(v)), None)
        if endpoint and "endpoint_url" not in client:
            options["endpoint_url"] = endpoint
    return options
