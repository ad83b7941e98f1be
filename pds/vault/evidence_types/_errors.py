"""The evidence-type errors, each with a stable code; all are ``InvalidInput`` (400)."""

from __future__ import annotations

from pds.errors import InvalidInput


class UnknownEvidenceType(InvalidInput):
    """Only types with a schema can be stored, or the vault would seal unchecked data."""

    code = "unknown_evidence_type"
    title = "Unknown evidence type"


class InvalidCategory(InvalidInput):
    """Consent is granted per category, so a misfiled item would leak or hide data."""

    code = "invalid_category"
    title = "Category not allowed for this evidence"


class ClaimsInvalid(InvalidInput):
    """One claim breaks a rule; ``field`` is its path so a form can point at it."""

    code = "claims_invalid"
    title = "The evidence details are not valid"

    def __init__(self, detail: str, *, field: str | None) -> None:
        super().__init__(detail, field=field)
        self.field = field
