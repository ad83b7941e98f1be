"""The plain-English wording of the citizen's access log: complete, and honest about who."""

from __future__ import annotations

import uuid

import pytest

from pds.audit.entry import Action, Actor, Outcome
from pds.audit.wording import (
    ACTION_LABELS,
    UNKNOWN_ACTION,
    describe_action,
    describe_actor,
    describe_resource,
)

ME = uuid.UUID("0190a000-0000-7000-8000-000000000001")
SOMEONE_ELSE = uuid.UUID("0190a000-0000-7000-8000-000000000002")


def test_every_action_has_a_distinct_plain_label() -> None:
    assert set(ACTION_LABELS) == set(Action)
    assert len(set(ACTION_LABELS.values())) == len(Action)
    assert all(label[0].isupper() and not label.endswith(".") for label in ACTION_LABELS.values())


def test_an_action_from_a_newer_release_gets_a_neutral_label() -> None:
    assert describe_action("read") == "Your data was read"
    assert describe_action("teleport") == UNKNOWN_ACTION


def who(actor: Actor, actor_id: uuid.UUID | None = None, **kw: str | None) -> str:
    return describe_actor(
        actor=actor.value,
        actor_id=actor_id,
        viewer_id=ME,
        action=kw.get("action") or Action.READ.value,
        outcome=kw.get("outcome") or Outcome.ALLOWED.value,
        client_id=kw.get("client_id"),
    )


@pytest.mark.parametrize(
    ("actor", "actor_id", "extra", "expected"),
    [
        (Actor.CITIZEN, ME, {}, "you"),
        (Actor.CITIZEN, SOMEONE_ELSE, {}, "someone else"),
        (Actor.CITIZEN, ME, {"action": "sign_in", "outcome": "denied"}, "someone"),
        (Actor.CITIZEN, ME, {"action": "sign_in"}, "you"),
        (Actor.SYSTEM, None, {}, "the PDS"),
        (Actor.CLIENT, None, {"client_id": "council-tax"}, "council-tax"),
        (Actor.CLIENT, None, {}, "a service"),
        (Actor.AUDITOR, SOMEONE_ELSE, {}, "an auditor"),
        (Actor.ADMIN, SOMEONE_ELSE, {}, "an administrator"),
    ],
)
def test_who_did_it(
    actor: Actor, actor_id: uuid.UUID | None, extra: dict[str, str], expected: str
) -> None:
    assert who(actor, actor_id, **extra) == expected


def test_an_unknown_actor_is_someone() -> None:
    described = describe_actor(
        actor="robot", actor_id=None, viewer_id=ME, action="read", outcome="allowed", client_id=None
    )
    assert described == "someone"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (None, None),
        ("", None),
        ("evidence/123", "a piece of evidence"),
        ("evidence/123/documents/456", "a document"),
        ("audit/entries", "the audit log"),
        ("claims/address", None),
    ],
)
def test_what_it_touched(resource: str | None, expected: str | None) -> None:
    assert describe_resource(resource) == expected
