"""The leaf encoding: the bytes every audit entry commits to, reproducible by any verifier.

A leaf is defined as Python's canonical ``json.dumps`` (sorted keys, no spaces, UTF-8 kept
as is); the encoder writes it with msgspec. These tests hold the two to the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pds.audit.leaf import LEAF_FORMAT, LeafFields, decode_leaf, encode_leaf

# Any Unicode text JSON can hold as UTF-8 (lone surrogates cannot be encoded at all).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
OPTIONAL = st.none() | TEXT
SCALARS = st.none() | st.booleans() | st.integers() | TEXT
# Floats and nesting never come from Entry.detail's type, but an old row might hold them.
DETAIL = st.dictionaries(
    TEXT,
    SCALARS | st.floats(allow_nan=False) | st.lists(SCALARS | st.floats(allow_nan=False)),
    max_size=5,
)

LEAVES = st.builds(
    LeafFields,
    entry_id=TEXT,
    time=TEXT,
    actor=TEXT,
    actor_ref=OPTIONAL,
    action=TEXT,
    outcome=TEXT,
    subject=OPTIONAL,
    client_id=OPTIONAL,
    grant_id=OPTIONAL,
    purpose=OPTIONAL,
    resource=OPTIONAL,
    request_id=OPTIONAL,
    detail=DETAIL,
)


def reference(fields: LeafFields) -> bytes:
    """The definition of a leaf, written with the standard library."""
    document: dict[str, Any] = {
        "v": LEAF_FORMAT,
        "id": fields.entry_id,
        "time": fields.time,
        "actor": fields.actor,
        "actor_ref": fields.actor_ref,
        "action": fields.action,
        "outcome": fields.outcome,
        "subject": fields.subject,
        "client": fields.client_id,
        "grant": fields.grant_id,
        "purpose": fields.purpose,
        "resource": fields.resource,
        "request": fields.request_id,
        "detail": fields.detail,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


@settings(max_examples=500, deadline=None)
@given(LEAVES)
def test_a_leaf_is_the_canonical_json_of_its_fields(fields: LeafFields) -> None:
    assert encode_leaf(fields) == reference(fields)


@settings(max_examples=200, deadline=None)
@given(LEAVES)
def test_a_leaf_decodes_to_the_fields_it_was_made_from(fields: LeafFields) -> None:
    assert decode_leaf(encode_leaf(fields)) == fields


KNOWN = LeafFields(
    entry_id="0193a0c4-7b1e-7000-8000-000000000001",
    time="2026-12-01T09:30:00+00:00",
    actor="client",
    actor_ref=None,
    action="read",
    outcome="allowed",
    subject="c2FsdGVk",
    client_id="c_housing",
    grant_id="0193a0c4-7b1e-7000-8000-000000000002",
    purpose="sector-publicservices:HousingWelfareManagement",
    resource="grants/0193a0c4-7b1e-7000-8000-000000000002/data",
    request_id="req\n\u00e9\u2028",
    detail={"items": 1, "claims": "proof_of_address/x:postcode", "documents_listed": 0},
)


def test_a_known_leaf_keeps_its_exact_bytes() -> None:
    assert encode_leaf(KNOWN) == (
        b'{"action":"read","actor":"client","actor_ref":null,"client":"c_housing",'
        b'"detail":{"claims":"proof_of_address/x:postcode","documents_listed":0,"items":1},'
        b'"grant":"0193a0c4-7b1e-7000-8000-000000000002","id":"0193a0c4-7b1e-7000-8000-'
        b'000000000001","outcome":"allowed","purpose":"sector-publicservices:'
        b'HousingWelfareManagement","request":"req\\n\xc3\xa9\xe2\x80\xa8",'
        b'"resource":"grants/0193a0c4-7b1e-7000-8000-000000000002/data","subject":"c2FsdGVk",'
        b'"time":"2026-12-01T09:30:00+00:00","v":1}'
    )


@pytest.mark.parametrize("detail", [{"ratio": 1e20}, {"ratios": [1, 1e-7]}, {"nested": {"x": 2.5}}])
def test_a_float_in_the_detail_is_written_as_the_standard_library_writes_it(
    detail: dict[str, Any],
) -> None:
    # msgspec writes some floats differently (1e20 and 1e+20); those leaves go through json.
    fields = replace(KNOWN, detail=detail)
    assert encode_leaf(fields) == reference(fields)
