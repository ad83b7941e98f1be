"""The ``pds_data_request`` authorization details (RFC 9396): what a service asks for.

A service system asks for data by pushing one ``authorization_details`` object of type
``pds_data_request``. Everything in it is shown to the citizen and later bounds what the
policy lets the service read, so it is checked here once, strictly, before anything
downstream trusts it: a closed list of purposes, the UK GDPR lawful bases, evidence
types and categories that exist, claim names the type really has, bounded durations and
plain-English text that cannot spoof the consent screen. Pure: no database, no clock.

Wire shape (one element; more are refused, so one grant always has one purpose)::

    [{"type": "pds_data_request",
      "items": [{"evidence_type": "council_tax_bill", "claims": ["band"], "required": true},
                {"category": "household", "documents": true, "required": false}],
      "purpose": {"term": "sector-publicservices:PublicServiceEligibilityAssessment",
                  "description": "To check whether you can get a Council Tax discount."},
      "lawful_basis": "public_task",
      "access": "one_off",
      "duration": "PT12H"}]
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal

import msgspec

from consent.vocabulary import Access, LawfulBasis, Purpose
from pds.errors import InvalidInput
from pds.vault.evidence_types import EVIDENCE_TYPES, Category

if TYPE_CHECKING:
    from collections.abc import Collection

AUTHORIZATION_DETAILS_TYPE: Final = "pds_data_request"
MAX_RAW_BYTES: Final = 16 * 1024
"""The whole parameter; far above any honest request, far below a memory problem."""
MIN_DURATION: Final = timedelta(minutes=5)
"""Shorter than one access token's life (5 min) could not be used at all."""

_ROOT: Final = "authorization_details"
_FIRST: Final = f"{_ROOT}[0]"


class InvalidDataRequest(InvalidInput):
    """The details are malformed or break a rule; ``field`` points at the culprit.

    At the OAuth endpoints this answers ``invalid_authorization_details`` (RFC 9396 §5),
    which is why ``oauth_error`` is given; ``code`` stays distinct from the registration
    error so audit entries tell "could not be parsed" from "not allowed to ask".
    """

    code = "invalid_data_request"
    title = "The data request is not valid"
    oauth_error: ClassVar[str] = "invalid_authorization_details"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail, field=field)
        self.field = field


class DataRequestNotAllowed(InvalidInput):
    """A well-formed request asks for a purpose or category the client is not registered for.

    RFC 9396 §5 names this ``invalid_authorization_details``; the code is that name so the
    OAuth layer can answer with it verbatim.
    """

    code = "invalid_authorization_details"
    title = "The client may not ask for this"
    oauth_error: ClassVar[str] = "invalid_authorization_details"

    def __init__(self, detail: str, *, field: str, reason: str = "not_registered") -> None:
        super().__init__(detail, field=field)
        self.field = field
        self.reason = reason


_Text = Annotated[str, msgspec.Meta(max_length=64)]
_ClaimNames = Annotated[tuple[_Text, ...], msgspec.Meta(min_length=1, max_length=50)]


class _Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Frozen and closed: RFC 9396 §5 wants unknown fields refused, not ignored."""


class DataItem(_Strict, frozen=True, kw_only=True, omit_defaults=True):
    """One thing wanted: an evidence type, a category, or a type filed under one category.

    ``claims`` narrows a type to named claims (``None``: every claim). ``documents`` asks
    for the uploaded files too, which show every claim, so it cannot go with ``claims``.
    The citizen may untick an item unless ``required`` (which the client must state).
    """

    required: bool
    evidence_type: _Text | None = None
    category: Category | None = None
    claims: _ClaimNames | None = None
    documents: bool = False

    def categories(self) -> frozenset[Category]:
        """Every category this item reaches: what the client must be registered for."""
        if self.category is not None:
            return frozenset({self.category})
        kind = EVIDENCE_TYPES.get(self.evidence_type or "")
        return frozenset(kind.categories) if kind else frozenset(Category)


class PurposeStatement(_Strict, frozen=True, kw_only=True):
    """Why: a DPV term the PDS understands, and the service's own words for the citizen."""

    term: Purpose
    description: Annotated[str, msgspec.Meta(max_length=500)]


MIN_DESCRIPTION: Final = 10


class DataRequest(_Strict, frozen=True, kw_only=True):
    """One validated ``pds_data_request``; also the shape of a grant's (narrowed) scope."""

    type: Literal["pds_data_request"]
    items: Annotated[tuple[DataItem, ...], msgspec.Meta(min_length=1, max_length=20)]
    purpose: PurposeStatement
    lawful_basis: LawfulBasis
    access: Access
    duration: timedelta


_Details = Annotated[list[DataRequest], msgspec.Meta(min_length=1, max_length=1)]


def parse_authorization_details(unverified: str | bytes) -> DataRequest:
    """Turn the untrusted ``authorization_details`` JSON into a checked ``DataRequest``.

    Two steps, as for JWTs: msgspec checks shape and types, then ``_checked`` applies the
    rules that need the evidence-type registry. Raises ``InvalidDataRequest``.
    """
    # surrogatepass: a lone surrogate in the text becomes bad UTF-8 that decoding refuses
    raw = unverified.encode("utf-8", "surrogatepass") if isinstance(unverified, str) else unverified
    if len(raw) > MAX_RAW_BYTES:
        raise InvalidDataRequest(f"'{_ROOT}' is larger than {MAX_RAW_BYTES} bytes.", field=_ROOT)
    try:
        (request,) = msgspec.json.decode(raw, type=_Details)
    except msgspec.ValidationError as exc:
        raise _invalid_from(exc) from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidDataRequest(f"'{_ROOT}' is not valid JSON.", field=_ROOT) from exc
    return _checked(request)


def to_authorization_details(request: DataRequest) -> list[dict[str, Any]]:
    """The JSON-ready array to echo in tokens, introspection and receipts (RFC 9396 §7, §9)."""
    built: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(request))
    built["duration"] = iso_duration(request.duration)
    return [built]


def iso_duration(span: timedelta) -> str:
    """ISO 8601 in days, hours, minutes and seconds (``P90D``, ``PT12H``), as people write it.

    For the non-negative, whole-second durations a ``DataRequest`` holds.
    msgspec would write ``PT7776000S``; this is what receipts and screens should show,
    and it parses back to the same value.
    """
    days, rest = span.days, span.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not (days or time):
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def check_allowed(
    request: DataRequest, *, purposes: Collection[str], categories: Collection[str]
) -> None:
    """Refuse a request outside what the client registered for, before the citizen sees it.

    Plain collections, not the registry's model, so this module stays free of storage.
    An item naming only an evidence type reaches every category that type is filed under,
    so each of those must be allowed; the client can name one category to ask for less.
    """
    if request.purpose.term not in purposes:
        raise DataRequestNotAllowed(
            f"This client is not registered for the purpose {request.purpose.term.value}.",
            field=f"{_FIRST}.purpose.term",
            reason="purpose_not_registered",
        )
    allowed = frozenset(categories)
    for index, item in enumerate(request.items):
        outside = sorted(item.categories() - allowed)
        if outside:
            raise DataRequestNotAllowed(
                f"This client is not registered for the categories: {', '.join(outside)}.",
                field=f"{_FIRST}.items[{index}].category",
                reason="category_not_registered",
            )


# --- the rules msgspec cannot express ------------------------------------------------------


def _checked(request: DataRequest) -> DataRequest:
    items = tuple(
        _checked_item(item, f"{_FIRST}.items[{i}]") for i, item in enumerate(request.items)
    )
    for index, item in enumerate(items):
        if item in items[:index]:
            raise InvalidDataRequest(
                f"'{_FIRST}.items[{index}]' repeats an earlier item.",
                field=f"{_FIRST}.items[{index}]",
            )
    _check_duration(request.duration, request.access)
    description = _tidy_description(request.purpose.description)
    purpose = msgspec.structs.replace(request.purpose, description=description)
    return msgspec.structs.replace(request, items=items, purpose=purpose)


def _checked_item(item: DataItem, where: str) -> DataItem:
    if item.evidence_type is None and item.category is None:
        raise InvalidDataRequest(
            f"'{where}' must name an evidence_type, a category or both.", field=where
        )
    if item.evidence_type is not None:
        kind = EVIDENCE_TYPES.get(item.evidence_type)
        if kind is None:
            known = ", ".join(EVIDENCE_TYPES)
            raise InvalidDataRequest(
                f"'{where}.evidence_type' is not a known evidence type; use one of: {known}.",
                field=f"{where}.evidence_type",
            )
        if item.category is not None and item.category not in kind.categories:
            allowed = ", ".join(kind.categories)
            raise InvalidDataRequest(
                f"'{where}.category' is not a category of {kind.key}; use one of: {allowed}.",
                field=f"{where}.category",
            )
    if item.claims is None:
        return item
    return msgspec.structs.replace(item, claims=_checked_claims(item, where))


def _checked_claims(item: DataItem, where: str) -> tuple[str, ...]:
    """Claims are fields of one schema, so they need a type; sorted, for one spelling."""
    field = f"{where}.claims"
    kind = EVIDENCE_TYPES.get(item.evidence_type or "")
    if kind is None:
        raise InvalidDataRequest(f"'{field}' can only be named with an evidence_type.", field=field)
    if item.documents:
        raise InvalidDataRequest(
            f"'{where}.documents' shows every claim, so it cannot go with named claims.",
            field=f"{where}.documents",
        )
    names = kind.claim_names
    claims = item.claims or ()
    unknown = sorted(set(claims) - names)
    if unknown:
        raise InvalidDataRequest(
            f"'{field}' names claims {kind.key} does not have: {', '.join(unknown)}.",
            field=field,
        )
    if len(set(claims)) != len(claims):
        raise InvalidDataRequest(f"'{field}' names a claim twice.", field=field)
    return tuple(sorted(claims))


def _check_duration(duration: timedelta, access: Access) -> None:
    field = f"{_FIRST}.duration"
    if duration.microseconds:
        raise InvalidDataRequest(f"'{field}' must be whole seconds.", field=field)
    longest = access.max_duration
    if not MIN_DURATION <= duration <= longest:
        raise InvalidDataRequest(
            f"'{field}' must be between {_days_or_hours(MIN_DURATION)} and "
            f"{_days_or_hours(longest)} for {access.value} access, e.g. P90D.",
            field=field,
        )


def _days_or_hours(span: timedelta) -> str:
    if span.days:
        return f"{span.days} days" if span.days > 1 else "1 day"
    return f"{span.seconds // 60} minutes"


def _tidy_description(text: str) -> str:
    """One spelling, and nothing that could disguise the consent screen.

    Control and format characters (newlines, zero-width and bidi overrides) are refused
    rather than stripped: a service sending them is either broken or trying something.
    """
    field = f"{_FIRST}.purpose.description"
    tidy = unicodedata.normalize("NFC", text.strip())
    if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in tidy):
        raise InvalidDataRequest(
            f"'{field}' must be plain text without control or formatting characters.",
            field=field,
        )
    if len(tidy) < MIN_DESCRIPTION:
        raise InvalidDataRequest(
            f"'{field}' must explain the purpose in at least {MIN_DESCRIPTION} characters.",
            field=field,
        )
    return tidy


# --- msgspec messages to fields -------------------------------------------------------------

_AT_PATH: Final = " - at `$"
_NAMED_FIELD: Final = re.compile(r"field `(?P<name>[^`]{1,64})`\Z")
_MAX_ECHO: Final = 200


def _invalid_from(exc: msgspec.ValidationError) -> InvalidDataRequest:
    """Name the field msgspec complained about, as a path under ``authorization_details``."""
    message, at, tail = str(exc).rpartition(_AT_PATH)
    if not at:
        message, tail = tail, ""
    path = _ROOT + tail.removesuffix("`")
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named['name']}"
    reason = message.replace("`", "")[:_MAX_ECHO]
    return InvalidDataRequest(f"'{path}': {reason}.", field=path)
