"""The public verifier: is this SD-JWT VC (or presentation) one to rely on, and why not?

Anyone may ask; the answer names each check in order and the first that failed, so a
council officer or a supplier's system learns *why* without reading JOSE errors. Only
issuers this PDS hosts are trusted (``{base}/issuers/{client_id}``, keys from the
database, exactly what ``/.well-known/jwt-vc-issuer/issuers/{client_id}`` publishes);
any other ``iss`` is ``unknown_issuer``, never fetched (no SSRF, no trust in strangers).

Key binding is the caller's policy (RFC 9901 §7.3), never inferred from the input: with
``nonce`` and ``audience`` a valid KB-JWT for them is required; with neither, key binding
is not checked and a KB-JWT, if sent, is set aside before the SD-JWT is verified.
Status comes from the issuer's list as this PDS serves it, verified as a token with the
issuer's keys like any verifier would. The audit entry records the verdict, the issuer
and the type: never claims, never who the credential is about.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from credentials import sdjwt
from credentials.keys import client_of_issuer, issuer_public_keys
from credentials.lists import current_token, status_uri
from credentials.models import StatusListRow
from credentials.sdjwt import Check, InvalidCredential, KeyBindingPolicy
from credentials.sdjwt_vc import VerifiedCredential, verify_vc
from credentials.status_list import Status, StatusListInvalid, status_of, verify_token
from pds import errors
from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.service import append

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider

CHECKS: Final = (
    "format",
    "issuer",
    "signature",
    "disclosures",
    "expiry",
    "key_binding",
    "credential",
    "status",
)
"""The checks in the order they run; a verdict lists those run, up to the first failure."""
_STAGE: Final[dict[Check, str]] = {
    Check.MALFORMED: "format",
    Check.TOO_LARGE: "format",
    Check.UNKNOWN_ISSUER: "issuer",
    Check.UNEXPECTED_HEADER: "signature",
    Check.WRONG_TYP: "signature",
    Check.ALG_NOT_ALLOWED: "signature",
    Check.UNKNOWN_KEY: "signature",
    Check.BAD_SIGNATURE: "signature",
    Check.UNSUPPORTED_SD_ALG: "disclosures",
    Check.MALFORMED_DISCLOSURE: "disclosures",
    Check.DUPLICATE_DISCLOSURE: "disclosures",
    Check.DUPLICATE_DIGEST: "disclosures",
    Check.RESERVED_CLAIM_NAME: "disclosures",
    Check.CLAIM_EXISTS: "disclosures",
    Check.UNREFERENCED_DISCLOSURE: "disclosures",
    Check.EXPIRED: "expiry",
    Check.NOT_YET_VALID: "expiry",
    Check.MISSING_IAT: "expiry",
    Check.IAT_IN_FUTURE: "expiry",
}
_STATUS_WORDS: Final = {Status.INVALID: "revoked", Status.SUSPENDED: "suspended"}


class KeyBindingHalfAsked(errors.InvalidInput):
    code = "key_binding_needs_nonce_and_audience"
    title = "Key binding needs both a nonce and an audience"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class Verdict:
    checks: list[CheckResult] = field(default_factory=list)
    claims: dict[str, Any] | None = None
    failed: str | None = None
    issuer_client_id: str | None = None
    vct: str | None = None

    @property
    def valid(self) -> bool:
        return self.failed is None

    def passed_until(self, stage: str, detail: str) -> None:
        """Every check before ``stage`` passed; ``stage`` failed with ``detail``."""
        for name in CHECKS[: CHECKS.index(stage)]:
            if name not in {check.name for check in self.checks}:
                self.checks.append(CheckResult(name, ok=True, detail="ok"))
        self.checks.append(CheckResult(stage, ok=False, detail=detail))
        self.failed = stage


def _stage(check: Check) -> str:
    if check in _STAGE:
        return _STAGE[check]
    return "key_binding" if check.value.startswith(("kb_", "key_binding")) else "credential"


def _policy(nonce: str | None, audience: str | None) -> KeyBindingPolicy | None:
    if nonce is None and audience is None:
        return None
    if not nonce or not audience:
        raise KeyBindingHalfAsked("Send both nonce and audience to check key binding, or neither.")
    return KeyBindingPolicy(audience=audience, nonce=nonce)


async def verify_presentation(
    session: AsyncSession,
    keys: KeyProvider,
    presentation: str,
    *,
    nonce: str | None,
    audience: str | None,
    base: str,
    now: dt.datetime,
) -> Verdict:
    """Run every check in order and audit the verdict (in the caller's transaction)."""
    policy = _policy(nonce, audience)
    verdict = Verdict()
    verified = await _credential(session, verdict, presentation, policy, base=base, now=now)
    if verified is not None:
        verdict.checks.extend(CheckResult(name, ok=True, detail="ok") for name in CHECKS[:-1])
        if policy is None:
            verdict.checks[CHECKS.index("key_binding")] = CheckResult(
                "key_binding", ok=True, detail="not checked: no nonce and audience given"
            )
        await _status(session, keys, verdict, verified, base=base, now=now)
        if verdict.valid:
            verdict.claims = verified.claims
    append(session, _entry(verdict))
    return verdict


async def _credential(
    session: AsyncSession,
    verdict: Verdict,
    presentation: str,
    policy: KeyBindingPolicy | None,
    *,
    base: str,
    now: dt.datetime,
) -> VerifiedCredential | None:
    try:
        jwt, _, kb = sdjwt.split(presentation)
        issuer = sdjwt.unverified_payload(jwt).get("iss")
    except InvalidCredential as exc:
        verdict.passed_until("format", exc.check.value)
        return None
    client_id = client_of_issuer(base, issuer) if isinstance(issuer, str) else None
    public = await issuer_public_keys(session, client_id) if client_id else []
    if not public or not isinstance(issuer, str):
        verdict.passed_until("issuer", Check.UNKNOWN_ISSUER.value)
        return None
    verdict.issuer_client_id = client_id
    if policy is None and kb:
        presentation = presentation[: len(presentation) - len(kb)]
    try:
        verified = verify_vc(
            presentation,
            trusted_issuers={issuer: public},
            now=int(now.timestamp()),
            key_binding=policy,
        )
    except InvalidCredential as exc:
        verdict.passed_until(_stage(exc.check), exc.check.value)
        return None
    verdict.vct = verified.vct
    return verified


async def _status(
    session: AsyncSession,
    keys: KeyProvider,
    verdict: Verdict,
    verified: VerifiedCredential,
    *,
    base: str,
    now: dt.datetime,
) -> None:
    reference = verified.status
    if reference is None:
        verdict.checks.append(CheckResult("status", ok=True, detail="no status reference"))
        return
    row = await _list_of(session, reference.uri, verdict.issuer_client_id, base)
    if row is None:
        verdict.passed_until("status", "unknown_status_list")
        return
    token = await current_token(session, keys, row, base=base, now=now)
    public = await issuer_public_keys(session, row.issuer_client_id)
    try:
        checked = verify_token(
            token,
            uri=reference.uri,
            public_keys={jwk["kid"]: jwk for jwk in public},
            now=int(now.timestamp()),
        )
        value = status_of(checked, reference.idx)
    except StatusListInvalid as exc:
        verdict.passed_until("status", exc.reason)
        return
    if value != Status.VALID:
        verdict.passed_until("status", _STATUS_WORDS.get(Status(value), f"status_{value}"))
        return
    verdict.checks.append(CheckResult("status", ok=True, detail="valid"))


async def _list_of(
    session: AsyncSession, uri: str, client_id: str | None, base: str
) -> StatusListRow | None:
    """The list at ``uri`` if this PDS serves it for the credential's own issuer."""
    prefix = status_uri(base, uuid.UUID(int=0)).removesuffix(str(uuid.UUID(int=0)))
    try:
        list_id = uuid.UUID(uri.removeprefix(prefix)) if uri.startswith(prefix) else None
    except ValueError:
        return None
    if list_id is None or status_uri(base, list_id) != uri:
        return None
    return await session.scalar(
        select(StatusListRow).where(
            StatusListRow.id == list_id, StatusListRow.issuer_client_id == client_id
        )
    )


def _entry(verdict: Verdict) -> Entry:
    return Entry(
        actor=Actor.SYSTEM,
        action=Action.CREDENTIAL_VERIFIED,
        outcome=Outcome.ALLOWED if verdict.valid else Outcome.DENIED,
        client_id=verdict.issuer_client_id,
        resource="credentials/verify",
        detail={"valid": verdict.valid, "failed": verdict.failed, "vct": verdict.vct},
    )
