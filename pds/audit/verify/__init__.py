"""``pds audit verify``: rebuild the audit tree from the stored rows and check it.

``_core`` is the pure verifier over plain records (``LogVerifier``, raising
``Tampered``); ``_database`` streams the stored rows, tree nodes and checkpoints
into it (``verify_log``).
"""

from __future__ import annotations

from pds.audit.verify._core import (
    LogVerifier,
    StoredCheckpoint,
    StoredEntry,
    Tampered,
    VerifyResult,
)
from pds.audit.verify._database import BATCH_SIZE, verify_log

__all__ = [
    "BATCH_SIZE",
    "LogVerifier",
    "StoredCheckpoint",
    "StoredEntry",
    "Tampered",
    "VerifyResult",
    "verify_log",
]
