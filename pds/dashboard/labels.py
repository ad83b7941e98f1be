"""Names people read for the vault's keys (evidence types, categories)."""

from __future__ import annotations

from pds.vault.evidence_types import EVIDENCE_TYPES, Category


def type_label(key: str) -> str:
    kind = EVIDENCE_TYPES.get(key)
    return kind.label if kind else key.replace("_", " ").capitalize()


def category_label(key: str) -> str:
    try:
        return Category(key).label
    except ValueError:
        return key.replace("_", " ").capitalize()
