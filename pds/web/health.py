"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.exc import SQLAlchemyError

from pds.migrate import current_revision, head_revision
from pds.web.problems import problem, problem_responses

if TYPE_CHECKING:
    from litestar.datastructures import State


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    database: str
    revision: str | None


@get("/healthz", operation_id="healthz", tags=["health"], summary="Process is up")
async def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    operation_id="readyz",
    tags=["health"],
    summary="Database reachable and migrated to head",
    responses={
        200: ResponseSpec(
            data_container=Readiness,
            description="The database answers and is at the latest migration.",
            generate_examples=False,
        ),
        **problem_responses(503),
    },
)
async def readyz(state: State) -> Response[Readiness] | Response[dict[str, object]]:
    try:
        revision = await current_revision(state.db.engine)
    except (SQLAlchemyError, OSError):
        return problem(503, "database_unreachable", "Not ready", "The database cannot be reached.")
    if revision != head_revision():
        return problem(
            503,
            "migrations_pending",
            "Not ready",
            "The database is not at the latest migration; run `pds db upgrade`.",
            revision=revision,
        )
    return Response(Readiness(status="ok", database="reachable", revision=revision))
