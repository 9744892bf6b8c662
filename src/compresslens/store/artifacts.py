"""Content-addressed artifact folder: written atomically, verified on every read."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from compresslens.errors import CorruptArtifactError, NotFoundError

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactStore:
    """Files named by the sha256 of their bytes, under `root/ab/abcdef…`.

    A write goes to a temporary file in the same folder, is fsynced, then renamed into
    place, so a killed process never leaves a half-written artifact under a real name.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise NotFoundError(f"{digest!r} is not an artifact hash")
        return self.root / digest[:2] / digest

    def exists(self, digest: str) -> bool:
        return self.path_of(digest).is_file()

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store `data`; return its hash and whether this call created the file."""
        digest = sha256_bytes(data)
        target = self.path_of(digest)
        if target.is_file():
            return digest, False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest, True

    def get(self, digest: str) -> bytes:
        """The artifact's bytes, after checking they still hash to `digest`."""
        path = self.path_of(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"artifact {digest[:12]}… is missing from {self.root}") from None
        actual = sha256_bytes(data)
        if actual != digest:
            raise CorruptArtifactError(
                f"artifact {path} is corrupt: its bytes hash to {actual[:12]}…, "
                f"not {digest[:12]}… (the file was changed or truncated on disk)"
            )
        return data

    def delete(self, digest: str) -> None:
        self.path_of(digest).unlink(missing_ok=True)

    def list_hashes(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("??/*") if not p.name.startswith(".tmp-"))

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
        os.utime(self.path_of(digest))

    def modified_time(self, digest: str) -> float:
        """When the artifact was last written or touched (seconds since the epoch)."""
        return self.path_of(digest).stat().st_mtime

    def size_of(self, digest: str) -> int:
        return self.path_of(digest).stat().st_size
