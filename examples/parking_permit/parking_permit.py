"""Resident parking permits: checking proof of address through a PDS, with the SDK only.

A council parking team asks the resident to share the postcode of their proof of
address, decides whether it lies in the borough's permit zones, and keeps watching the
grant: when the resident stops sharing, the team stops relying on it and says so.

    python examples/parking_permit/parking_permit.py            # see README.md

The module's functions are the example's core (tests drive them directly); ``main``
wraps them in a command line.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.sdk import (
    AccessDenied,
    GrantRevoked,
    PdsClient,
    generate_encryption_key,
    generate_signing_key,
    public_jwk,
    read_private_jwk,
    write_private_jwk,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from connectors.sdk import Event, Grant, GrantData
    from connectors.sdk.keys import AsymmetricKey

HERE = Path(__file__).resolve().parent
CALLBACK_PORT = 8765
REDIRECT_URI = f"http://127.0.0.1:{CALLBACK_PORT}/callback"
BOROUGH = "Leeds"
PERMIT_DISTRICTS = frozenset(f"LS{n}" for n in range(1, 30))
"""Postcode districts (the outward code) where the borough issues resident permits."""
ENDED = frozenset({"grant.revoked", "grant.expired"})


# --- the service's keys and manifest -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceKeys:
    signing: AsymmetricKey
    encryption: AsymmetricKey
    manifest_path: Path


def manifest(
    signing: AsymmetricKey, encryption: AsymmetricKey, redirect_uri: str
) -> dict[str, Any]:
    """What the parking team sends the PDS operators (``pds clients add --from``)."""
    return {
        "name": "Resident Parking Permits",
        "organisation": f"{BOROUGH} City Council",
        "kind": "council_service",
        "contact_email": "parking.permits@example.gov.uk",
        "redirect_uris": [redirect_uri],
        "jwks": {"keys": [public_jwk(signing, kid=signing.thumbprint(), alg="ES256", use="sig")]},
        "encryption_jwk": public_jwk(encryption, kid=encryption.thumbprint(), use="enc"),
        "purposes": ["sector-publicservices:PublicServiceEligibilityAssessment"],
        "categories": ["address", "residency"],
        "privacy_notice_url": "https://example.gov.uk/privacy/parking",
    }


def ensure_keys(folder: Path, redirect_uri: str = REDIRECT_URI) -> ServiceKeys:
    """Load the service's keys, or make them (and the manifest) on first run."""
    signing_path, encryption_path = folder / "signing.jwk.json", folder / "encryption.jwk.json"
    manifest_path = folder / "manifest.json"
    if not signing_path.exists():
        write_private_jwk(signing_path, generate_signing_key())
        write_private_jwk(encryption_path, generate_encryption_key())
    signing, encryption = read_private_jwk(signing_path), read_private_jwk(encryption_path)
    if not manifest_path.exists():
        body = manifest(signing, encryption, redirect_uri)
        manifest_path.write_text(json.dumps(body, indent=2) + "\n")
    return ServiceKeys(signing, encryption, manifest_path)


def connect(base_url: str, client_id: str, keys: ServiceKeys) -> PdsClient:
    return PdsClient(base_url, client_id, keys.signing, encryption_key=keys.encryption)


# --- what the parking team asks for, and how it decides -------------------------------------


def permit_request() -> list[dict[str, Any]]:
    """Only the address lines of a proof of address, for as long as a permit lasts."""
    return [
        {
            "type": "pds_data_request",
            "items": [
                {
                    "evidence_type": "proof_of_address",
                    "claims": ["address_line_1", "town", "postcode"],
                    "required": True,
                }
            ],
            "purpose": {
                "term": "sector-publicservices:PublicServiceEligibilityAssessment",
                "description": (
                    "To check you live in a permit zone, for your resident parking permit."
                ),
            },
            "lawful_basis": "public_task",
            "access": "ongoing",
            "duration": "P365D",
        }
    ]


@dataclass(frozen=True, slots=True)
class Decision:
    eligible: bool
    reason: str
    postcode: str | None = None


def decide(data: GrantData) -> Decision:
    """Eligible when the shared postcode's district is one of the permit districts."""
    item = data.item("proof_of_address")
    postcode = item.claims.get("postcode") if item is not None else None
    if not isinstance(postcode, str) or not postcode.strip():
        return Decision(False, "No postcode was shared.")
    district = postcode.strip().upper().split()[0]
    if district in PERMIT_DISTRICTS:
        return Decision(True, f"{postcode} is in {BOROUGH}'s permit zones.", postcode)
    return Decision(False, f"{postcode} is outside {BOROUGH}'s permit zones.", postcode)


async def check_resident(
    pds: PdsClient,
    citizen_answers: Callable[[str], Awaitable[str]],
    *,
    redirect_uri: str = REDIRECT_URI,
) -> tuple[Grant, Decision]:
    """Send the resident to consent (``citizen_answers`` gets the URL and returns the
    callback URL their browser came back with), read what they shared, decide."""
    start = await pds.start_authorization(permit_request(), redirect_uri)
    callback = await citizen_answers(start.url)
    grant = await pds.finish_authorization(start, callback)
    data = await pds.get_data(grant, encrypted=True)  # only our key opens it
    return grant, decide(data)


async def watch(
    pds: PdsClient,
    grant: Grant,
    *,
    cursor: int = 0,
    interval: float = 5.0,
    report: Callable[[str], None] = print,
) -> Event:
    """Poll the event feed until the grant ends; re-check the address when it changes."""
    while True:
        async for event in pds.events(cursor):
            cursor = event.seq
            if event.grant_id != grant.grant_id:
                continue
            if event.type in ENDED:
                return event
            if event.type == "grant.data_changed":
                report(f"Address changed: {await recheck(pds, grant)}")
        await asyncio.sleep(interval)


async def recheck(pds: PdsClient, grant: Grant) -> str:
    try:
        return decide(await pds.get_data(grant, encrypted=True)).reason
    except GrantRevoked:
        return "the resident has stopped sharing."


# --- the command line -----------------------------------------------------------------------


async def receive_callback(url: str, *, port: int = CALLBACK_PORT) -> str:
    """Print the consent URL and wait for the browser to come back to our callback."""
    arrived: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode("latin-1").split()
        page = b"<p>Thank you. You can close this tab and go back to the permit form.</p>"
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n")
        writer.write(b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(page), page))
        await writer.drain()
        writer.close()
        if (
            len(request_line) >= 2
            and request_line[1].startswith("/callback")
            and not arrived.done()
        ):
            arrived.set_result(f"http://127.0.0.1:{port}{request_line[1]}")

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        print(f"Ask the resident to open this link and sign in:\n\n  {url}\n", flush=True)
        callback: str = await arrived
        return callback


async def paste_callback(url: str) -> str:
    print(f"Ask the resident to open this link and sign in:\n\n  {url}\n", flush=True)
    print("Paste the address the browser ended on (it will not load):")
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def run(args: argparse.Namespace) -> int:
    keys = ensure_keys(args.folder)
    client_id = args.client_id or _saved_client_id(args.folder)
    if not client_id:
        print(f"Register first:  pds clients add --from {keys.manifest_path}")
        print("then run again with --client-id <the id it printed>.")
        return 2
    (args.folder / "client_id.txt").write_text(client_id + "\n")
    answers = paste_callback if args.paste else receive_callback
    async with connect(args.pds, client_id, keys) as pds:
        try:
            grant, decision = await check_resident(pds, answers)
        except AccessDenied:
            print("The resident chose not to share: no permit without proof of address.")
            return 1
        verdict = "ELIGIBLE" if decision.eligible else "NOT ELIGIBLE"
        print(f"{verdict}: {decision.reason}")
        print("Watching for changes; revoke the grant in the dashboard to see it stop.")
        ended = await watch(pds, grant, interval=args.interval)
        print(f"The resident's grant ended ({ended.type}): permit checks stop, data deleted.")
    return 0


def _saved_client_id(folder: Path) -> str:
    saved = folder / "client_id.txt"
    return saved.read_text().strip() if saved.exists() else ""


def main() -> int:
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each line out at once, also into a pipe
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pds", default=os.environ.get("PDS_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--client-id", default="")
    parser.add_argument("--folder", type=Path, default=HERE / "var")
    parser.add_argument("--paste", action="store_true", help="paste the callback URL")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
