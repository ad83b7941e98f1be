"""Signed consent receipts, stored once per change so both sides download the same bytes.

A receipt is issued when a grant is approved and again at each later change
(revocation, expiry). The client's details come from the registry's table, read
here through a bare table reference: consent never imports the connectors package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from sqlalchemy import column, func, select, table

from consent.models import ConsentReceipt
from consent.receipts import ReceiptParty, build_receipt
from consent.service import pairwise_subject
from consent.tokens import sign_receipt
from pds.ids import uuid7

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.grants import GrantState
    from consent.models import Grant
    from consent.token_keys import TokenSigner

_clients = table(
    "clients",
    column("client_id"),
    column("name"),
    column("organisation"),
    column("kind"),
    column("contact_email"),
    column("privacy_notice_url"),
)


async def client_party(session: AsyncSession, client_id: str) -> ReceiptParty:
    """The registered client as a receipt names it."""
    row = (await session.execute(select(_clients).where(_clients.c.client_id == client_id))).one()
    return ReceiptParty(
        client_id=row.client_id,
        name=row.name,
        organisation=row.organisation,
        kind=cast("Literal['council_service', 'third_party']", row.kind),
        contact_email=row.contact_email,
        privacy_notice_url=row.privacy_notice_url,
    )


async def issue_receipt(
    session: AsyncSession,
    signer: TokenSigner,
    grant: Grant,
    state: GrantState,
    *,
    issuer: str,
    now: dt.datetime,
) -> ConsentReceipt:
    """Sign and store the receipt for the grant as ``state`` stands (next version)."""
    if grant.citizen_id is None:
        raise ValueError("only a decided grant has a receipt")
    latest = await session.scalar(
        select(func.max(ConsentReceipt.version)).where(ConsentReceipt.grant_id == grant.id)
    )
    receipt_id = uuid7()
    body = build_receipt(
        state,
        grant_id=str(grant.id),
        receipt_id=str(receipt_id),
        subject=await pairwise_subject(session, grant.client_id, grant.citizen_id),
        client=await client_party(session, grant.client_id),
        issuer=issuer,
    )
    row = ConsentReceipt(
        id=receipt_id,
        grant_id=grant.id,
        version=(latest or 0) + 1,
        issued_at=now,
        jws=sign_receipt(signer, body, issuer=issuer, now=int(now.timestamp())),
    )
    session.add(row)
    await session.flush()
    return row


async def latest_receipt(session: AsyncSession, grant_id: uuid.UUID) -> ConsentReceipt | None:
    return await session.scalar(
        select(ConsentReceipt)
        .where(ConsentReceipt.grant_id == grant_id)
        .order_by(ConsentReceipt.version.desc())
        .limit(1)
    )
