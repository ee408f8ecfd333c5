"""Errors with a message a user can act on. Surfaces map them to exit codes and HTTP statuses."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: ``str(err)`` is a one-line message fit to show a user."""


class ConfigurationError(AssistantError):
    """A setting or an installed component is wrong or missing (start-up fails)."""


class ModelNotInstalledError(ConfigurationError):
    """The embedding model files are not where the settings say."""


class IndexMismatchError(ConfigurationError):
    """The index was built with a different embedding model or dimension."""


class InvalidInputError(AssistantError):
    """A question or request the assistant cannot take (empty, too long, malformed)."""


class FieldInputError(InvalidInputError):
    """Invalid input tied to one request field (the API reports it in ``fields``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class DocumentError(AssistantError):
    """One document could not be read; other documents carry on."""


class BackendUnavailableError(AssistantError):
    """A dependency (Chroma server, LLM endpoint) cannot be reached right now."""


class EmptyIndexError(BackendUnavailableError):
    """No documents are indexed yet, so there is nothing to answer from."""

    def __init__(self) -> None:
        super().__init__(
            "the index is empty: add documents with `nhs-assistant ingest FOLDER` (or upload "
            "them through the API), then ask again"
        )


class NotFoundError(AssistantError):
    """The thing named (a document, an answer) does not exist."""


class UnknownDocumentError(NotFoundError):
    """No document with this id is in the index."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"no document {doc_id!r} in the index")
        self.doc_id = doc_id


class InvalidFileNameError(InvalidInputError):
    """An uploaded file's name cannot be made safe (no base name or no extension)."""


class UploadTooLargeError(InvalidInputError):
    """An uploaded file is over the configured size limit."""


class UnsupportedDocumentError(DocumentError):
    """The content is no supported document type (whatever its extension says)."""
