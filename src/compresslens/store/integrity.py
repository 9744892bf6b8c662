"""What a cache hit checks: a stored model's files are there and whole.

A file can go missing or change on disk (a crash of another tool, a hand edit, an old
writer that deleted shared files); a cached model is then repaired or refused, never
returned as fine.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from compresslens.errors import CorruptArtifactError, NotFoundError
from compresslens.store.artifacts import ArtifactStore, sha256_bytes
from compresslens.store.database import Database, translated_errors
from compresslens.store.schema import Artifact, Evaluation, Model


def check_models(db: Database, artifacts: ArtifactStore, model_ids: Sequence[str]) -> set[str]:
    """The models of `model_ids` whose weights are there and hash to their names. Their
    evaluations whose files are missing or of the wrong size are removed, so that they are
    run again (a full hash of every evaluation file would cost a cached rerun of the demo
    0.2 s; every read still verifies the hash, so a same-size change is a clear error)."""
    if not model_ids:
        return set()
    with db.reader() as session:
        statement = select(Model.id, Model.weights_artifact).where(Model.id.in_(model_ids))
        weights = {model_id: digest for model_id, digest in session.execute(statement)}
        evaluations = session.execute(
            select(
                Evaluation.model_id,
                Evaluation.dataset_id,
                Evaluation.outputs_artifact,
                Evaluation.logits_artifact,
                Evaluation.features_artifact,
            ).where(Evaluation.model_id.in_(model_ids))
        ).all()
        named = {d for row in evaluations for d in row[2:] if d}
        sizes = dict(
            session.execute(
                select(Artifact.sha256, Artifact.size_bytes).where(Artifact.sha256.in_(named))
            ).all()
        )

    def whole(digest: str) -> bool:
        try:
            return artifacts.size_of(digest) == sizes.get(digest)
        except FileNotFoundError:
            return False

    damaged = [row[:2] for row in evaluations if not all(whole(d) for d in row[2:] if d)]
    if damaged:
        with translated_errors(), db.transaction() as session:
            for model_id, dataset_id in damaged:
                session.execute(
                    delete(Evaluation).where(
                        Evaluation.model_id == model_id, Evaluation.dataset_id == dataset_id
                    )
                )
    return {m for m, digest in weights.items() if digest is None or artifacts.verify(digest)}


def restore_weights(db: Database, artifacts: ArtifactStore, model_id: str, weights: bytes) -> None:
    """Write a model's damaged weights file again from `weights`, the model made anew;
    refused when those bytes differ from the ones its row names (and its evaluations
    and children were made from)."""
    with db.reader() as session:
        row = session.execute(
            select(Model.name, Model.weights_artifact).where(Model.id == model_id)
        ).one_or_none()
    if row is None:
        raise NotFoundError(f"no model with id {model_id!r}")
    name, recorded = row
    digest = sha256_bytes(weights)
    if digest == recorded:
        rewrite(artifacts, weights)
        return
    raise CorruptArtifactError(
        f"the weights file of model {name!r} ({str(recorded)[:12]}…) is missing or "
        f"corrupt, and the model re-made from its recipe has different weights "
        f"({digest[:12]}…), so it was not repaired; remove it (with its children) "
        "and make it again"
    )


def rewrite(artifacts: ArtifactStore, data: bytes) -> tuple[str, bool]:
    """Store `data`, replacing a file of its name whose bytes were changed on disk (a put
    alone would keep a corrupt file, since its name is taken); whether it was written."""
    digest, created = artifacts.put(data)
    if not created and not artifacts.verify(digest):
        artifacts.delete(digest)
        return artifacts.put(data)
    return digest, created
