"""Where each sealed value's context comes from, in one place.

Every sealed column names its field here, so the binding between a ciphertext
and its row (citizen, item, version, field) is decided once and read alike by
the writers and the readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from pds.vault.envelope import SealContext

if TYPE_CHECKING:
    import uuid

    from pds.vault.envelope import DataKey

CLAIMS = "claims"
PROVENANCE = "provenance"
DOCUMENT_META = "document.meta"
DOCUMENT_CONTENT = "document.content"


def seal_json(key: DataKey, value: Any, context: SealContext) -> bytes:
    return key.seal(msgspec.json.encode(value), context)


def open_json(key: DataKey, sealed: bytes, context: SealContext) -> Any:
    return msgspec.json.decode(key.open(sealed, context))


def item_context(
    citizen_id: uuid.UUID, item_id: uuid.UUID, version: int, field: str
) -> SealContext:
    return SealContext(citizen_id=citizen_id, item_id=item_id, version=version, field=field)
