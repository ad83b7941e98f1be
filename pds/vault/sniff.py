"""Decide what an uploaded document is from its bytes, never from its name or header.

A file called ``bill.pdf`` sent as ``application/pdf`` can be anything; the vault later
hands documents to council staff and service systems, so only formats we can name by
content are accepted, and only up to a size that keeps one upload from filling memory.
Pure: takes bytes, returns a media type or raises a domain error.
"""

from __future__ import annotations

from typing import Final

from pds.errors import PayloadTooLarge, UnsupportedMediaType

PDF: Final = "application/pdf"
PNG: Final = "image/png"
JPEG: Final = "image/jpeg"

ALLOWED_DOCUMENT_TYPES: Final = frozenset({PDF, PNG, JPEG})
MAX_DOCUMENT_BYTES: Final = 10 * 1024 * 1024

# Signatures at offset 0. PDF readers tolerate a header up to 1 KiB in; we do not, so
# a polyglot file (something else that also parses as PDF) is refused.
_SIGNATURES: Final = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
)
SNIFF_BYTES: Final = max(len(magic) for magic, _ in _SIGNATURES)
"""How many leading bytes ``sniff_document_type`` needs, for callers reading a stream."""


class DocumentTooLarge(PayloadTooLarge):
    """Refused before any parsing, so an oversized upload costs nothing further."""

    code = "document_too_large"
    title = "Document too large"


class DocumentTypeNotAllowed(UnsupportedMediaType):
    """The content is not one of the formats the vault accepts, whatever it claimed to be."""

    code = "document_type_not_allowed"
    title = "Document type not allowed"


def sniff_document_type(head: bytes) -> str | None:
    """The media type named by the leading bytes, or None when no signature matches."""
    for magic, media_type in _SIGNATURES:
        if head.startswith(magic):
            return media_type
    return None


def check_document(
    data: bytes,
    declared_type: str | None,
    *,
    allowed: frozenset[str] = ALLOWED_DOCUMENT_TYPES,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> str:
    """Return the sniffed media type to store, or refuse the document.

    ``declared_type`` (the client's Content-Type) never decides anything: it only makes
    the refusal message clearer when the name and the content disagree.
    """
    if len(data) > max_bytes:
        raise DocumentTooLarge(
            f"The document is larger than the {max_bytes // (1024 * 1024)} MB limit.",
            limit_bytes=max_bytes,
        )
    sniffed = sniff_document_type(data[:SNIFF_BYTES])
    if sniffed is None or sniffed not in allowed:
        raise DocumentTypeNotAllowed(_refusal(sniffed, declared_type, allowed))
    return sniffed


def _refusal(sniffed: str | None, declared_type: str | None, allowed: frozenset[str]) -> str:
    """Say what we accept and, when it helps, that the content does not match its label."""
    accepted = ", ".join(sorted(allowed)) or "no documents"
    found = f"its content is {sniffed}" if sniffed else "its content is not a format we recognise"
    declared = _bare_media_type(declared_type)
    if declared and declared != sniffed:
        found = f"it was sent as {declared[:100]}, but {found}"
    return f"This document cannot be stored: {found}. Accepted: {accepted}."


def _bare_media_type(declared_type: str | None) -> str | None:
    """``Image/PNG; charset=x`` -> ``image/png``, for comparison only."""
    if not declared_type:
        return None
    return declared_type.split(";", 1)[0].strip().lower() or None
