"""Garbage collection: the only way an artifact file is deleted.

A content-addressed file may be shared by rows of several writers, so no writer deletes
one. A file is garbage when no row of any table names it and it is older than a grace
period: a file younger than that may belong to a writer whose transaction has not
committed yet (a writer refreshes the time of a file it reuses, see `Writer.put`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Column, delete, select, union

from compresslens.errors import CompressLensError
from compresslens.store.artifacts import ArtifactStore
from compresslens.store.database import Database
from compresslens.store.schema import Artifact, Base

DEFAULT_GRACE_S = 3600.0  # an hour: longer than any one write takes


@dataclass(frozen=True)
class GarbageReport:
    """What a collection removed (or, on a dry run, would remove)."""

    files: int
    bytes: int
    digests: list[str]
    young_unreferenced: int  # unreferenced but within the grace period: kept
    dry_run: bool
    grace_s: float
    temporary_files: int = 0  # partial files of killed writers, older than the grace period

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def artifact_references() -> list[Column[Any]]:
    """Every column of every table that names an artifact: its foreign keys to
    artifacts.sha256, so a table added later is covered without a change here."""
    target = Artifact.__table__.c.sha256
    return [
        column
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if any(key.column is target for key in column.foreign_keys)
    ]


def referenced_digests(db: Database) -> set[str]:
    """The artifacts some row names, read in one consistent query."""
    statement = union(*(select(column.label("digest")) for column in artifact_references()))
    with db.reader() as session:
        return {digest for digest in session.scalars(statement) if digest is not None}


def collect_garbage(
    db: Database, artifacts: ArtifactStore, *, dry_run: bool, grace_s: float
) -> GarbageReport:
    """Delete the files (and their `artifacts` rows) no row names, older than `grace_s`.

    The files are listed before the references are read, so a file written after the
    listing is not considered, and each file's age is checked again just before it goes.
    """
    if not grace_s >= 0:  # also NaN
        raise CompressLensError(f"the grace period must be 0 seconds or more, not {grace_s}")
    on_disk = artifacts.list_hashes()
    referenced = referenced_digests(db)
    deadline = time.time() - grace_s
    doomed, sizes, young = [], 0, 0
    for digest in on_disk:
        if digest in referenced:
            continue
        try:
            if artifacts.modified_time(digest) > deadline:
                young += 1
                continue
            size = artifacts.size_of(digest)
            if not dry_run:
                if artifacts.modified_time(digest) > deadline:  # touched meanwhile
                    young += 1
                    continue
                artifacts.delete(digest)
        except FileNotFoundError:  # another collection took it first
            continue
        doomed.append(digest)
        sizes += size
    if doomed and not dry_run:
        with db.transaction() as session:
            session.execute(delete(Artifact).where(Artifact.sha256.in_(doomed)))
    partial = stale_temporary_files(artifacts, deadline, dry_run=dry_run)
    return GarbageReport(len(doomed), sizes, doomed, young, dry_run, grace_s, partial)


def stale_temporary_files(artifacts: ArtifactStore, deadline: float, *, dry_run: bool) -> int:
    """Delete the partial files of writers killed mid-write (SIGKILL runs no clean-up) that
    are older than the deadline; a younger one may be a write in progress. Their count."""
    removed = 0
    for name in artifacts.temporary_files():
        try:
            if artifacts.temporary_modified_time(name) > deadline:
                continue
            if not dry_run:
                artifacts.remove_temporary(name)
        except FileNotFoundError:  # its writer finished (renamed it) or another gc took it
            continue
        removed += 1
    return removed
