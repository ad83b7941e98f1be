"""What one read discloses of one evidence item: what it holds, cut to what was granted and
to what the client asked for this time. Never more than any of the three.

Pure, so the property "a read returns exactly asked ∩ granted" is tested on its own
(tests/consent/test_disclosure.py); the read path then confirms each cut with the policy
decision point before anything is decrypted into a response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from consent.policy import covering_items
from pds.vault.evidence_types import EVIDENCE_TYPES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from consent.requests import DataRequest

MAX_ASKED: Final = 50


@dataclass(frozen=True, slots=True)
class Asked:
    """A read's own narrowing (``None``: no narrowing on that axis)."""

    evidence_types: frozenset[str] | None = None
    claims: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Cut:
    """The claim names to disclose of one item, and whether its documents may be listed."""

    claims: frozenset[str]
    documents: bool


def cut(
    scope: DataRequest, evidence_type: str, category: str, held: Iterable[str], asked: Asked
) -> Cut | None:
    """The part of an item this read may see, or None when the grant does not reach it or
    the read did not ask for it."""
    if asked.evidence_types is not None and evidence_type not in asked.evidence_types:
        return None
    items = covering_items(scope, evidence_type, category)
    if not items:
        return None
    held_names = frozenset(held)
    if any(item.claims is None for item in items):
        granted = held_names
    else:
        granted = held_names & frozenset(name for item in items for name in item.claims or ())
    if asked.claims is not None:
        granted &= asked.claims
    documents = asked.claims is None and any(i.documents and i.claims is None for i in items)
    if not granted and not documents:
        return None
    return Cut(claims=granted, documents=documents)


def reaches(scope: DataRequest, asked: Asked) -> bool:
    """Whether the grant could disclose anything of what this read asks for, whatever the
    citizen holds: False when every type or claim it names lies outside the grant, which
    is a refusal rather than an empty answer. A read that names nothing always reaches."""
    if asked.evidence_types is None and asked.claims is None:
        return True
    kinds = EVIDENCE_TYPES if asked.evidence_types is None else asked.evidence_types
    for key in kinds:
        kind = EVIDENCE_TYPES.get(key)
        if kind is None:
            continue
        for category in kind.categories:
            if cut(scope, key, category, kind.claim_names, asked) is not None:
                return True
    return False
