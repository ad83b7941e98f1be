from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pds.errors import PayloadTooLarge, UnsupportedMediaType
from pds.vault.sniff import (
    ALLOWED_DOCUMENT_TYPES,
    MAX_DOCUMENT_BYTES,
    SNIFF_BYTES,
    DocumentTooLarge,
    DocumentTypeNotAllowed,
    check_document,
    sniff_document_type,
)

PDF_BYTES = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
GIF_BYTES = b"GIF89a\x01\x00\x01\x00"


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PDF_BYTES, "application/pdf"), (PNG_BYTES, "image/png"), (JPEG_BYTES, "image/jpeg")],
)
def test_each_signature_is_recognised(data: bytes, media_type: str) -> None:
    assert sniff_document_type(data) == media_type
    assert sniff_document_type(data[:SNIFF_BYTES]) == media_type
    assert check_document(data, media_type) == media_type


@pytest.mark.parametrize(
    "head", [b"", b"%PD", b"\x89PNG\r\n\x1a", b"\xff\xd8", GIF_BYTES, b" %PDF-1.7", b"%pdf-1.7"]
)
def test_unknown_or_truncated_heads_are_not_recognised(head: bytes) -> None:
    assert sniff_document_type(head) is None


def test_png_renamed_as_pdf_is_stored_as_png() -> None:
    assert check_document(PNG_BYTES, "application/pdf") == "image/png"


def test_declared_type_cannot_make_unknown_content_acceptable() -> None:
    with pytest.raises(DocumentTypeNotAllowed) as caught:
        check_document(GIF_BYTES, "Application/PDF; charset=binary")

    error = caught.value
    assert isinstance(error, UnsupportedMediaType)
    assert error.code == "document_type_not_allowed"
    assert "application/pdf" in error.detail  # the mismatch is explained
    assert "image/png" in error.detail  # and what is accepted


@pytest.mark.parametrize("declared", [None, "", "image/gif"])
def test_unknown_content_is_refused_whatever_was_declared(declared: str | None) -> None:
    with pytest.raises(DocumentTypeNotAllowed):
        check_document(GIF_BYTES, declared)


def test_empty_document_is_refused() -> None:
    with pytest.raises(DocumentTypeNotAllowed):
        check_document(b"", "application/pdf")


def test_recognised_but_not_allowed_type_is_refused() -> None:
    with pytest.raises(DocumentTypeNotAllowed) as caught:
        check_document(JPEG_BYTES, "image/jpeg", allowed=frozenset({"application/pdf"}))
    assert "image/jpeg" in caught.value.detail


def test_document_at_the_limit_is_accepted() -> None:
    data = PDF_BYTES + b"\0" * (MAX_DOCUMENT_BYTES - len(PDF_BYTES))
    assert check_document(data, "application/pdf") == "application/pdf"


def test_document_over_the_limit_is_refused() -> None:
    data = PDF_BYTES + b"\0" * (MAX_DOCUMENT_BYTES + 1 - len(PDF_BYTES))

    with pytest.raises(DocumentTooLarge) as caught:
        check_document(data, "application/pdf")

    assert isinstance(caught.value, PayloadTooLarge)
    assert caught.value.code == "document_too_large"
    assert caught.value.extra["limit_bytes"] == MAX_DOCUMENT_BYTES == 10 * 1024 * 1024


def test_allowed_types() -> None:
    assert frozenset({"application/pdf", "image/png", "image/jpeg"}) == ALLOWED_DOCUMENT_TYPES


@given(st.binary(max_size=32))
def test_sniffing_looks_only_at_the_start(data: bytes) -> None:
    sniffed = sniff_document_type(data)
    assert sniffed is None or sniffed in ALLOWED_DOCUMENT_TYPES
    assert sniff_document_type(data[:SNIFF_BYTES]) == sniffed
    assert sniff_document_type(b"x" + data) is None
