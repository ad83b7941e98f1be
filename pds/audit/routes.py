"""The audit log over HTTP: auditors under /audit/v1, each citizen's own access log.

Who may use /audit/v1: accounts with the auditor role, and no one else. Admins
run the system the log watches, so they do not read it (separation of duties);
someone who must do both gets an auditor account, whose creation is audited.
Searches and exports are recorded in the log itself (see ``pds.audit.search``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Final

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Stream

from pds.accounts.models import Account
from pds.accounts.service import Role, require_role
from pds.audit import proofs, search
from pds.audit.entry import Action, Outcome
from pds.audit.schemas import (
    EXPORT_MEDIA_TYPES,
    AccessLogOut,
    CheckpointOut,
    ConsistencyProofOut,
    EntryPage,
    ExportFormat,
    InclusionProofOut,
    access_log_out,
    checkpoint_out,
    consistency_out,
    csv_chunks,
    entry_page,
    inclusion_out,
    jsonl_chunks,
)
from pds.web.deps import DbSession, SignedInAccount, released_on_refusal, session_cookie_present
from pds.web.problems import problem_responses

# Far beyond any real log, exact as a JSON number, and refused before any query.
MAX_TREE_SIZE: Final = 2**53 - 1

Auditor = NamedDependency[Account]
Filters = NamedDependency[search.EntryFilter]
Cursor = Annotated[
    str | None,
    QueryParameter(
        description="Opaque: `next_cursor` from the previous page; omit for the first page.",
        max_length=64,
    ),
]
Limit = Annotated[
    int,
    QueryParameter(
        description=f"Entries per page (at most {search.MAX_LIMIT}).", ge=1, le=search.MAX_LIMIT
    ),
]
TreeSize = Annotated[
    int, QueryParameter(description="The size of a published checkpoint.", ge=1, le=MAX_TREE_SIZE)
]


async def provide_auditor(account: SignedInAccount, db_session: DbSession) -> Account:
    """The signed-in account, which must be an auditor's (403 for citizens and admins)."""
    async with released_on_refusal(db_session):
        require_role(account, Role.AUDITOR)
    return account


def provide_filters(
    *,
    citizen_id: Annotated[
        uuid.UUID | None, QueryParameter(name="citizen", description="The citizen's account id.")
    ] = None,
    client_id: Annotated[
        str | None, QueryParameter(name="client", description="The client id.", max_length=64)
    ] = None,
    action: Annotated[Action | None, QueryParameter(description="What was done.")] = None,
    purpose: Annotated[
        str | None, QueryParameter(description="The stated purpose.", max_length=200)
    ] = None,
    outcome: Annotated[Outcome | None, QueryParameter(description="allowed, denied or error.")] = (
        None
    ),
    since: Annotated[
        dt.datetime | None,
        QueryParameter(name="from", description="RFC 3339; entries at or after this time."),
    ] = None,
    until: Annotated[
        dt.datetime | None,
        QueryParameter(name="to", description="RFC 3339; entries before this time."),
    ] = None,
) -> search.EntryFilter:
    """The search terms; checked by the service, so a bad one is refused inside the handler."""
    return search.EntryFilter(
        citizen_id=citizen_id,
        client_id=client_id,
        action=action,
        purpose=purpose,
        outcome=outcome,
        since=since,
        until=until,
    )


class AuditController(Controller):
    path = "/audit/v1"
    tags = ["audit"]
    guards = [session_cookie_present]
    dependencies = {
        "auditor": Provide(provide_auditor),
        "filters": Provide(provide_filters, sync_to_thread=False),
    }

    @get(
        "/entries",
        operation_id="searchAuditEntries",
        summary="Search the audit log (oldest first, cursor-paginated); the search is audited",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def search_entries(
        self,
        db_session: DbSession,
        auditor: Auditor,
        filters: Filters,
        cursor: Cursor = None,
        limit: Limit = search.DEFAULT_LIMIT,
    ) -> EntryPage:
        page = await search.auditor_search(
            db_session, auditor.id, filters, cursor=cursor, limit=limit
        )
        return entry_page(page)

    @get(
        "/entries/export",
        operation_id="exportAuditEntries",
        summary="The same search as CSV or JSON Lines, streamed; the export is audited",
        description=(
            "`format=csv` answers text/csv (a header row, `detail` as JSON; cells that a "
            "spreadsheet would run as a formula get a leading apostrophe). "
            "`format=jsonl` answers application/jsonl, one entry object per line. The export "
            "holds the entries that existed when it started."
        ),
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/csv",
                description="The entries as CSV, or as JSON Lines (application/jsonl)",
                generate_examples=False,
            ),
            **problem_responses(400, 401, 403, 422),
        },
    )
    async def export_entries(
        self,
        db_session: DbSession,
        auditor: Auditor,
        filters: Filters,
        state: State,
        export_format: Annotated[
            ExportFormat, QueryParameter(name="format", description="csv or jsonl.")
        ] = ExportFormat.CSV,
    ) -> Stream:
        upto = await search.start_export(
            db_session, auditor.id, filters, export_format=export_format.value
        )
        rows = search.iter_entries(state.db.read_sessions, filters, upto=upto)
        chunks = csv_chunks(rows) if export_format is ExportFormat.CSV else jsonl_chunks(rows)
        filename = f"audit-entries.{export_format.value}"
        return Stream(
            chunks,
            media_type=EXPORT_MEDIA_TYPES[export_format],
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )

    @get(
        "/checkpoint",
        operation_id="getAuditCheckpoint",
        summary="The latest signed checkpoint (C2SP signed note, Ed25519; key in the JWKS)",
        responses=problem_responses(401, 403, 404),
    )
    async def checkpoint(
        self,
        db_session: DbSession,
        auditor: Auditor,  # noqa: ARG002 - resolved for its role check
    ) -> CheckpointOut:
        return checkpoint_out(await proofs.latest_checkpoint(db_session))

    @get(
        "/proofs/inclusion",
        operation_id="getAuditInclusionProof",
        summary="RFC 9162 inclusion proof of the entry at `index` in a checkpointed tree",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def inclusion(
        self,
        db_session: DbSession,
        auditor: Auditor,  # noqa: ARG002 - resolved for its role check
        index: Annotated[
            int, QueryParameter(description="The leaf index.", ge=0, le=MAX_TREE_SIZE)
        ],
        tree_size: TreeSize,
    ) -> InclusionProofOut:
        return inclusion_out(await proofs.prove_inclusion(db_session, index, tree_size))

    @get(
        "/proofs/consistency",
        operation_id="getAuditConsistencyProof",
        summary="RFC 9162 consistency proof between two checkpointed tree sizes",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def consistency(
        self,
        db_session: DbSession,
        auditor: Auditor,  # noqa: ARG002 - resolved for its role check
        first: TreeSize,
        second: TreeSize,
    ) -> ConsistencyProofOut:
        hashes = await proofs.prove_consistency(db_session, first, second)
        return consistency_out(first, second, hashes)


@get(
    "/api/v1/me/access-log",
    operation_id="getMyAccessLog",
    tags=["audit"],
    summary="Who did what with my data, when and why, each entry with its inclusion proof",
    guards=[session_cookie_present],
    responses=problem_responses(400, 401, 403, 422),
)
async def my_access_log(
    db_session: DbSession,
    citizen: SignedInAccount,
    cursor: Cursor = None,
    limit: Limit = search.DEFAULT_LIMIT,
) -> AccessLogOut:
    log = await search.access_log(db_session, citizen.id, cursor=cursor, limit=limit)
    return access_log_out(log, citizen.id)
