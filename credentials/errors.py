"""Credential refusals, each with a stable ``code`` the web layer turns into a problem."""

from __future__ import annotations

from pds import errors


class CredentialNotFound(errors.NotFound):
    """No such credential, or not one the caller may know of (another issuer's)."""

    code = "credential_not_found"
    title = "No such credential"


class TypeNotRegistered(errors.Forbidden):
    """The client is not registered to issue this credential type."""

    code = "credential_type_not_registered"
    title = "Not registered to issue this credential type"


class UnknownCredentialType(errors.InvalidInput):
    code = "unknown_credential_type"
    title = "Unknown credential type"


class ClaimsRejected(errors.InvalidInput):
    """The claims do not fit the credential type; ``field`` names the first wrong one."""

    code = "invalid_claims"
    title = "The claims do not fit the credential type"


class SubjectUnknown(errors.NotFound):
    """No citizen is known to this client by that pairwise subject."""

    code = "subject_not_found"
    title = "No such subject"


class EvidenceUnknown(errors.NotFound):
    code = "evidence_not_found"
    title = "No such evidence"


class StatusChangeRefused(errors.Conflict):
    """The transition is not possible from the credential's current status."""

    code = "status_change_refused"
    title = "The credential's status does not allow this"


class StatusListUnknown(errors.NotFound):
    code = "status_list_not_found"
    title = "No such status list"


class IssuerUnknown(errors.NotFound):
    code = "issuer_not_found"
    title = "No such credential issuer"


class VctUnknown(errors.NotFound):
    code = "vct_not_found"
    title = "No such credential type"
