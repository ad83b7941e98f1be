"""A citizen's credentials in their export archive, in the form a wallet imports.

Each credential is written as issued (``credentials/{id}.sd-jwt``: the issuer-signed JWT
with every disclosure, no KB-JWT), so the citizen can carry it to a wallet of their choice;
the manifest lists each with its type, issuer and standing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from credentials import sdjwt
from credentials.models import IssuedCredential, StatusListRow
from credentials.service import open_credential, standing

if TYPE_CHECKING:
    import datetime as dt
    import uuid
    import zipfile

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.vault.envelope import DataKey


async def export_credentials(
    session: AsyncSession,
    archive: zipfile.ZipFile,
    dek: DataKey,
    citizen_id: uuid.UUID,
    *,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Write each credential into ``archive``; their manifest entries, oldest first."""
    found = await session.execute(
        select(IssuedCredential, StatusListRow)
        .join(StatusListRow, StatusListRow.id == IssuedCredential.status_list_id)
        .where(IssuedCredential.citizen_id == citizen_id)
        .order_by(IssuedCredential.id)
    )
    listed = []
    for row, status_row in found.all():
        path = f"credentials/{row.id}.sd-jwt"
        sd_jwt = str(open_credential(dek, row)["sd_jwt"])
        archive.writestr(path, sd_jwt)
        listed.append(
            {
                "id": str(row.id),
                "vct": row.vct,
                "issuer": sdjwt.unverified_payload(sdjwt.split(sd_jwt)[0]).get("iss"),
                "issued_at": row.issued_at.isoformat(),
                "expires_at": row.expires_at.isoformat(),
                "status": standing(row, status_row, now).value,
                "media_type": "application/dc+sd-jwt",
                "file": path,
            }
        )
    return listed
