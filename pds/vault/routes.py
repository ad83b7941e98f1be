"""The citizen's vault over HTTP: evidence, versions, documents, export."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Stream

from pds.vault import documents, lifecycle, service
from pds.vault.evidence_types import describe
from pds.vault.schemas import (
    DocumentOut,
    EvidenceCreate,
    EvidenceList,
    EvidenceOut,
    EvidenceTypeList,
    EvidenceUpdate,
    VersionList,
    document_out,
    evidence_out,
    summary_out,
    version_out,
)
from pds.vault.sniff import MAX_DOCUMENT_BYTES
from pds.web.answers import binary_answer
from pds.web.deps import DbSession, Keys, SignedInAccount, session_cookie_present
from pds.web.problems import problem_responses

MULTIPART_OVERHEAD = 64 * 1024
EXPORT_CHUNK = 64 * 1024


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus the UTF-8 name, so any name survives the header."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class DocumentUpload(msgspec.Struct):
    file: UploadFile


@get(
    "/api/v1/evidence-types",
    operation_id="listEvidenceTypes",
    tags=["vault"],
    summary="The evidence types the vault accepts, with their claims schemas",
    cache_control=None,
)
async def list_evidence_types() -> EvidenceTypeList:
    return msgspec.convert({"items": describe()}, EvidenceTypeList)


class EvidenceController(Controller):
    path = "/api/v1/me/evidence"
    tags = ["vault"]
    guards = [session_cookie_present]

    @get("/", operation_id="listEvidence", summary="My evidence", responses=problem_responses(401))
    async def list_items(self, db_session: DbSession, citizen: SignedInAccount) -> EvidenceList:
        items = await service.list_evidence(db_session, citizen.id)
        return EvidenceList(items=[summary_out(item) for item in items])

    @post(
        "/",
        operation_id="createEvidence",
        summary="Store a new piece of evidence",
        responses=problem_responses(400, 401, 415, 422),
    )
    async def create(
        self,
        data: JSONBody[EvidenceCreate],
        db_session: DbSession,
        keys: Keys,
        citizen: SignedInAccount,
    ) -> EvidenceOut:
        view = await service.create_evidence(
            db_session,
            keys,
            citizen.id,
            evidence_type=data.type,
            category=data.category,
            claims=data.claims,
            today=today(),
        )
        return evidence_out(view)

    @get(
        "/{item_id:uuid}",
        operation_id="getEvidence",
        summary="One piece of evidence at its current version",
        responses=problem_responses(400, 401, 404),
    )
    async def read(
        self,
        item_id: FromPath[uuid.UUID],
        db_session: DbSession,
        keys: Keys,
        citizen: SignedInAccount,
    ) -> EvidenceOut:
        return evidence_out(await service.read_evidence(db_session, keys, citizen.id, item_id))

    @put(
        "/{item_id:uuid}",
        operation_id="updateEvidence",
        summary="Replace the claims; the old version stays in the history",
        responses=problem_responses(400, 401, 404, 415, 422),
    )
    async def update(
        self,
        item_id: FromPath[uuid.UUID],
        data: JSONBody[EvidenceUpdate],
        db_session: DbSession,
        keys: Keys,
        citizen: SignedInAccount,
    ) -> EvidenceOut:
        view = await service.update_evidence(
            db_session,
            keys,
            citizen.id,
            item_id,
            claims=data.claims,
            category=data.category,
            today=today(),
        )
        return evidence_out(view)

    @delete(
        "/{item_id:uuid}",
        operation_id="deleteEvidence",
        summary="Delete the evidence with its history and documents",
        responses=problem_responses(400, 401, 404),
    )
    async def remove(
        self, item_id: FromPath[uuid.UUID], db_session: DbSession, citizen: SignedInAccount
    ) -> None:
        await service.delete_evidence(db_session, citizen.id, item_id)

    @get(
        "/{item_id:uuid}/versions",
        operation_id="listEvidenceVersions",
        summary="Every version, newest first",
        responses=problem_responses(400, 401, 404),
    )
    async def versions(
        self,
        item_id: FromPath[uuid.UUID],
        db_session: DbSession,
        keys: Keys,
        citizen: SignedInAccount,
    ) -> VersionList:
        views = await service.list_versions(db_session, keys, citizen.id, item_id)
        return VersionList(items=[version_out(v) for v in views])

    @post(
        "/{item_id:uuid}/documents",
        operation_id="uploadDocument",
        summary="Attach a PDF, PNG or JPEG (10 MiB at most), as multipart field `file`",
        request_max_body_size=MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD,
        responses=problem_responses(400, 401, 404, 413, 415),
    )
    async def upload(
        self,
        item_id: FromPath[uuid.UUID],
        data: Annotated[DocumentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        db_session: DbSession,
        keys: Keys,
        citizen: SignedInAccount,
    ) -> DocumentOut:
        content = await data.file.read()
        view = await documents.add_document(
            db_session,
            keys,
            citizen.id,
            item_id,
            data=content,
            filename=data.file.filename,
            declared_type=data.file.content_type,
        )
        return document_out(view)

    @get(
        "/{item_id:uuid}/documents/{document_id:uuid}",
        operation_id="downloadDocument",
        summary="Download a document (streamed)",
        responses={
            200: binary_answer(
                "The document's bytes under its own media type, with `Content-Length`, "
                "`Digest` (SHA-256) and its file name in `Content-Disposition`."
            ),
            **problem_responses(400, 401, 404),
        },
    )
    async def download(
        self,
        *,
        item_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        db_session: DbSession,
        keys: Keys,
        citizen: SignedInAccount,
        state: State,
    ) -> Stream:
        started = await documents.start_download(db_session, keys, citizen.id, item_id, document_id)
        meta = started.meta
        return Stream(
            documents.stream_plaintext(state.db.read_sessions, started),
            media_type=meta.media_type,
            headers={
                "content-length": str(meta.size),
                "digest": f"sha-256={meta.sha256}",
                "content-disposition": content_disposition(meta.filename),
            },
        )

    @delete(
        "/{item_id:uuid}/documents/{document_id:uuid}",
        operation_id="deleteDocument",
        summary="Delete a document",
        responses=problem_responses(400, 401, 404),
    )
    async def remove_document(
        self,
        item_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        db_session: DbSession,
        citizen: SignedInAccount,
    ) -> None:
        await documents.delete_document(db_session, citizen.id, item_id, document_id)


@get(
    "/api/v1/me/export",
    operation_id="exportMyData",
    tags=["vault"],
    summary="Everything I own, as one ZIP archive with a manifest.json",
    responses={
        200: binary_answer("The archive, streamed as it is written.", "application/zip"),
        **problem_responses(401),
    },
    media_type="application/zip",
)
async def export(db_session: DbSession, keys: Keys, citizen: SignedInAccount) -> Response[Any]:
    archive = await lifecycle.export_archive(db_session, keys, citizen)

    async def chunks() -> Any:
        try:
            while block := archive.read(EXPORT_CHUNK):
                yield block
        finally:
            archive.close()

    return Stream(
        chunks(),
        media_type="application/zip",
        headers={"content-disposition": 'attachment; filename="pds-export.zip"'},
    )
