"""A workspace's fingerprint: its database's logical content and its artifact files, hashed,
so a test can say "a refused input changed nothing"."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def workspace_hash(folder: str | Path) -> str:
    """SHA-256 over every row of every table (in a stable order) and every artifact file."""
    folder = Path(folder)
    digest = hashlib.sha256()
    connection = sqlite3.connect(f"file:{folder / 'compresslens.db'}?mode=ro", uri=True)
    try:
        tables = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        for (table,) in tables:
            rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
            digest.update(table.encode())
            for row in sorted(map(repr, rows)):
                digest.update(row.encode())
    finally:
        connection.close()
    for path in sorted((folder / "artifacts").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
