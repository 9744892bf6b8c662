"""Content-addressed artifacts on any file system: written atomically, verified on every read."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compresslens.errors import CorruptArtifactError, NotFoundError
from compresslens.store.filesystems import Folder, open_folder

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactStore:
    """Files named by the sha256 of their bytes, under `root/ab/abcdef…`.

    `root` is a local folder, or a URL such as `s3://bucket/prefix` (any fsspec file system;
    `storage_options` go to it). A write never leaves a partial file under a real name, so a
    killed process cannot corrupt an artifact; two writers of the same bytes both succeed.
    """

    def __init__(self, root: str | Path, storage_options: Mapping[str, Any] | None = None) -> None:
        self.folder: Folder = open_folder(root, storage_options)
        self.root: Path | str = self.folder.root  # a Path for a local folder, else the URL

    @property
    def location(self) -> str:
        """An absolute path or URL that opens this store from another process."""
        return self.folder.location

    def path_of(self, digest: str) -> Path | str:
        return self.folder.path_of(name_of(digest))

    def exists(self, digest: str) -> bool:
        return self.folder.is_file(name_of(digest))

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store `data`; return its hash and whether this call wrote it.

        Without a lock: two writers that both find it missing both write the same bytes,
        and whichever lands last replaces identical content.
        """
        digest = sha256_bytes(data)
        name = name_of(digest)
        if self.folder.is_file(name):
            return digest, False
        self.folder.write(name, data)
        return digest, True

    def get(self, digest: str) -> bytes:
        """The artifact's bytes, after checking they still hash to `digest`."""
        name = name_of(digest)
        try:
            data = self.folder.read(name)
        except FileNotFoundError:
            raise NotFoundError(f"artifact {digest[:12]}… is missing from {self.root}") from None
        actual = sha256_bytes(data)
        if actual != digest:
            raise CorruptArtifactError(
                f"artifact {self.folder.path_of(name)} is corrupt: its bytes hash to "
                f"{actual[:12]}…, not {digest[:12]}… (the file was changed or truncated)"
            )
        return data

    def delete(self, digest: str) -> None:
        self.folder.remove(name_of(digest))

    def list_hashes(self) -> list[str]:
        return sorted(name.split("/")[1] for name in self.folder.names())

    def verify(self, digest: str) -> bool:
        """Whether the artifact is there and its bytes still hash to `digest`."""
        try:
            self.get(digest)
        except (NotFoundError, CorruptArtifactError):
            return False
        return True

    def touch(self, digest: str) -> None:
        """Mark an existing artifact as just written: `gc` spares files younger than its
        grace period, and a writer about to reference an old unreferenced file needs it kept."""
        self.folder.touch(name_of(digest))

    def modified_time(self, digest: str) -> float:
        """When the artifact was last written or touched (seconds since the epoch)."""
        return self.folder.modified_time(name_of(digest))

    def size_of(self, digest: str) -> int:
        return self.folder.size(name_of(digest))

    def temporary_files(self) -> list[str]:
        """Partial files of writers killed mid-write (names relative to the root)."""
        return sorted(self.folder.temporary_names())

    def temporary_modified_time(self, name: str) -> float:
        return self.folder.modified_time(name)

    def remove_temporary(self, name: str) -> None:
        self.folder.remove(name)


def name_of(digest: str) -> str:
    """`ab/abcdef…` for a sha256 hex digest; anything else (a path, `..`) is refused."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise NotFoundError(f"{digest!r} is not an artifact hash")
    return f"{digest[:2]}/{digest}"
