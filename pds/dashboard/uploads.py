"""The optional document on an evidence form, checked before anything is stored.

A refused file is reported against the file field with the GOV.UK wording, and the
evidence is not saved either, so the citizen fixes one form instead of two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from litestar.datastructures import UploadFile

from pds.dashboard.pages import FieldError
from pds.errors import PayloadTooLarge, UnsupportedMediaType
from pds.vault.sniff import MAX_DOCUMENT_BYTES, check_document

if TYPE_CHECKING:
    from litestar.datastructures import FormMultiDict

FIELD: Final = "document"
MULTIPART_OVERHEAD: Final = 64 * 1024
MAX_FORM_BYTES: Final = MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    filename: str | None
    content_type: str | None


async def read_upload(form: FormMultiDict, *, required: bool) -> Upload | FieldError | None:
    """The chosen file, an error to show, or None when no file was chosen (and none needed)."""
    chosen = form.get(FIELD)
    if not isinstance(chosen, UploadFile) or not chosen.filename:
        return FieldError(FIELD, "Select a file") if required else None
    data = await chosen.read()
    if not data:
        return FieldError(FIELD, "The selected file is empty. Choose another file")
    try:
        check_document(data, chosen.content_type)
    except PayloadTooLarge:
        return FieldError(FIELD, "The selected file must be smaller than 10 MB")
    except UnsupportedMediaType:
        return FieldError(FIELD, "The selected file must be a PDF, PNG or JPEG")
    return Upload(data, chosen.filename, chosen.content_type)
