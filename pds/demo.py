"""Demo data for `make run`: two citizens with evidence and an auditor.

Idempotent: an account that already exists is left as it is, so running
`pds demo` on every start never duplicates anything. The passwords are printed
on purpose; they guard demo data on a developer's machine and nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pds.accounts.service import AccountPolicy, Role, account_id_for, create_account
from pds.audit.entry import Actor
from pds.vault.evidence_types import EXAMPLE_CLAIMS
from pds.vault.service import create_evidence

if TYPE_CHECKING:
    from pds.db import Database
    from pds.keys.provider import KeyProvider


@dataclass(frozen=True, slots=True)
class DemoUser:
    email: str
    password: str
    role: Role
    evidence: tuple[str, ...] = ()


DEMO_USERS = (
    DemoUser(
        "amara.okafor@example.com",
        "demo-vault-amara-2026",
        Role.CITIZEN,
        ("proof_of_address", "council_tax_bill", "benefit_award_letter"),
    ),
    DemoUser(
        "tom.reilly@example.com",
        "demo-vault-tom-2026",
        Role.CITIZEN,
        ("tenancy_agreement", "blue_badge"),
    ),
    DemoUser("auditor@example.gov.uk", "demo-audit-office-2026", Role.AUDITOR),
)


async def load_demo(db: Database, keys: KeyProvider, policy: AccountPolicy) -> list[str]:
    """Create whatever demo accounts are missing; returns the emails created now."""
    created: list[str] = []
    for user in DEMO_USERS:
        async with db.sessions() as session:
            if await account_id_for(session, user.email) is not None:
                continue
            account = await create_account(
                session,
                keys,
                email=user.email,
                password=user.password,
                role=user.role,
                policy=policy,
                actor=Actor.SYSTEM,
            )
            for evidence_type in user.evidence:
                await create_evidence(
                    session,
                    keys,
                    account.id,
                    evidence_type=evidence_type,
                    category=None,
                    claims=EXAMPLE_CLAIMS[evidence_type],
                    today=dt.datetime.now(dt.UTC).date(),
                )
        created.append(user.email)
    return created
