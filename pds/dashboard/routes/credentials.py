"""The citizen's credentials: what each is, who issued it, whether it counts; read-only."""

from __future__ import annotations

import uuid
from typing import Any, Final

from litestar import Response, get
from litestar.params import FromPath

from pds.dashboard.credential_views import credential_card, credential_cards
from pds.dashboard.deps import CitizenViewer
from pds.dashboard.pages import page
from pds.db import utcnow
from pds.web.deps import AppSettings, DbSession, Keys

SECTION: Final = "credentials"


@get("/credentials", operation_id="dashboardCredentials", include_in_schema=False)
async def credentials(
    me: CitizenViewer, db_session: DbSession, keys: Keys, settings: AppSettings
) -> Response[Any]:
    cards = await credential_cards(
        db_session, keys, me.account.id, base=settings.base_url, now=utcnow()
    )
    return page(
        "credentials.html", title="Your credentials", viewer=me, section=SECTION, cards=cards
    )


@get(
    "/credentials/{credential_id:uuid}",
    operation_id="dashboardCredential",
    include_in_schema=False,
)
async def credential_detail(
    credential_id: FromPath[uuid.UUID],
    me: CitizenViewer,
    db_session: DbSession,
    keys: Keys,
    settings: AppSettings,
) -> Response[Any]:
    card = await credential_card(
        db_session, keys, me.account.id, credential_id, base=settings.base_url, now=utcnow()
    )
    return page("credential.html", title=card.name, viewer=me, section=SECTION, card=card)


HANDLERS = [credentials, credential_detail]
