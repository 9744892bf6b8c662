"""Errors a user can act on: each says what was wrong and that nothing was written."""

from __future__ import annotations


class CompressLensError(Exception):
    """Base class: every error compresslens raises on purpose derives from it."""


class NotFoundError(CompressLensError, KeyError):
    """A model, dataset, evaluation or artifact that the workspace does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotComputedError(NotFoundError):
    """An analysis asked for with `cached_only=True` that the workspace has not stored yet."""


class CorruptArtifactError(CompressLensError):
    """Bytes on disk that do not match their checksum or cannot be parsed."""


class InvalidWeightsError(CompressLensError):
    """A weights file or state dict that cannot be loaded into the model."""


class IncompatibleDatasetError(CompressLensError):
    """A dataset whose shape or class count does not fit the model."""


class InvalidOutputError(CompressLensError):
    """A model output that cannot be evaluated honestly (NaN/inf logits, wrong rank)."""


class FactoryError(CompressLensError):
    """A factory string that cannot be imported or called, or builds the wrong model."""


class OperationError(CompressLensError):
    """An unknown operation, bad parameters, or a failure while applying one."""


class DuplicateNameError(CompressLensError):
    """A name already taken by different content."""


class DataFormatError(CompressLensError):
    """A data file (IDX, arrays) whose header or size is not what its format promises."""


class DatabaseUnavailableError(CompressLensError):
    """A workspace database that cannot be opened: a bad URL, a missing driver, no server."""


class DatabaseValueError(CompressLensError):
    """A value the database refused (SQLite forgives more than PostgreSQL); nothing written."""


class InvalidChoiceError(CompressLensError, ValueError):
    """A level, class or sort key that the answer asked for does not offer."""


class PopulationSizeWarning(UserWarning):
    """Populations the PIE rule was not made for: of different sizes, or of a single model.

    Hooker et al. compare populations of equal size K; the answer is given, with this warning.
    """


class ArtifactStoreUnavailableError(CompressLensError):
    """An artifact location that cannot be used: an unknown protocol, no bucket, no access."""


class MissingExtraError(ArtifactStoreUnavailableError):
    """A URL whose file system needs a package not installed (e.g. `compresslens[s3]`)."""


class UntrustedCodeError(FactoryError):
    """A factory or plugin module the user has not trusted: it is never imported."""


class TrustFileError(CompressLensError):
    """A trust file (the modules a user trusts) that cannot be read or written."""


class WriteConflictError(CompressLensError):
    """Another writer changed the same rows at the same moment; nothing was written."""


class InvalidTokenError(CompressLensError, ValueError):
    """A server token that is too short or has characters a URL or cookie would mangle."""


class InvalidInputError(CompressLensError, ValueError):
    """A name, seed or value that breaks a rule every entry point shares; nothing written."""
