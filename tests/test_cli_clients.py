"""``pds clients`` end to end against a migrated SQLite database.

Synchronous tests, like tests/test_cli.py: each command runs its own event loop.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from joserfc.jwk import RSAKey

from pds.cli import main

EXAMPLES = Path(__file__).parents[1] / "examples" / "manifests"
HOUSING = EXAMPLES / "housing.json"
PARKING = EXAMPLES / "parking-provider.json"
SETTING_NAMES = ("PDS_DATA_DIR", "PDS_DATABASE_URL", "PDS_HOST", "PDS_PORT", "PDS_BASE_URL")

Env = dict[str, str | None]


def run(env: Env, *args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def succeeds(env: Env, *args: str) -> list[str]:
    result = run(env, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout.splitlines()


def fails(env: Env, *args: str) -> str:
    """The one line an operator sees, checked to be on stderr with no traceback."""
    result = run(env, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    [line] = result.stderr.splitlines()
    return line


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """An operator's environment with a migrated SQLite database (shared by this module)."""
    values: Env = dict.fromkeys(SETTING_NAMES)
    values["PDS_DATA_DIR"] = str(tmp_path_factory.mktemp("clients") / "data")
    succeeds(values, "db", "upgrade")
    return values


def add(env: Env, manifest: Path = HOUSING) -> str:
    [client_id] = succeeds(env, "clients", "add", "--from", str(manifest))
    return client_id


def show(env: Env, client_id: str) -> dict[str, str]:
    lines = succeeds(env, "clients", "show", client_id)
    return {line[:20].rstrip(" :"): line[20:] for line in lines if line[:20].strip()}


def test_add_prints_only_the_new_client_id(env: Env) -> None:
    result = run(env, "clients", "add", "--from", str(HOUSING))

    assert result.exit_code == 0, result.output
    assert uuid.UUID(result.stdout.strip()).version == 7
    assert result.stdout == result.stdout.strip() + "\n"
    assert result.stderr == ""


def test_add_reads_the_manifest_from_stdin(env: Env) -> None:
    result = run(env, "clients", "add", "--from", "-", stdin=PARKING.read_bytes())

    assert result.exit_code == 0, result.output
    assert show(env, result.stdout.strip())["name"] == "Resident Parking Permits"


def test_list_shows_each_client_as_a_table_row(env: Env) -> None:
    housing = add(env)
    parking = add(env, PARKING)

    header, *rows = succeeds(env, "clients", "list")

    assert header.split() == ["ID", "NAME", "KIND", "STATUS"]
    by_id = {row.split()[0]: row for row in rows}
    assert "Housing Options and Homelessness" in by_id[housing]
    assert by_id[housing].split()[-2:] == ["council_service", "active"]
    assert by_id[parking].split()[-2:] == ["third_party", "active"]


def test_show_reads_as_lines(env: Env) -> None:
    client_id = add(env)

    lines = succeeds(env, "clients", "show", client_id)
    fields = show(env, client_id)

    assert lines[0] == f"id:                 {client_id}"
    assert fields["organisation"] == "Exampleton Borough Council"
    assert fields["status"] == "active"
    assert fields["redirect URIs"] == "https://housing.exampleton.gov.uk/pds/callback"
    assert fields["signing keys"].startswith("inline: EC P-256 (")
    assert fields["encryption key"].startswith("EC P-256 (")
    assert fields["purposes"] == "sector-publicservices:PublicServiceEligibilityAssessment"
    assert "                    sector-publicservices:HousingWelfareManagement" in lines


def test_suspend_and_reinstate(env: Env) -> None:
    client_id = add(env)

    assert succeeds(env, "clients", "suspend", client_id, "--reason", "keys leaked") == [
        f"suspended client {client_id}"
    ]
    assert show(env, client_id)["status"].startswith("suspended since ")
    [row] = [r for r in succeeds(env, "clients", "list") if r.startswith(client_id)]
    assert row.split()[-1] == "suspended"
    assert fails(env, "clients", "suspend", client_id) == (
        f"Error: Client {client_id} is already suspended."
    )

    assert succeeds(env, "clients", "reinstate", client_id) == [f"reinstated client {client_id}"]
    assert show(env, client_id)["status"] == "active"
    assert fails(env, "clients", "reinstate", client_id) == (
        f"Error: Client {client_id} is not suspended."
    )


def test_update_names_what_changed(env: Env) -> None:
    client_id = add(env)

    [changed] = succeeds(env, "clients", "update", client_id, "--from", str(PARKING))
    [same] = succeeds(env, "clients", "update", client_id, "--from", str(PARKING))

    assert changed.startswith(f"updated client {client_id}: name, organisation, kind, ")
    assert same == f"updated client {client_id}: nothing changed"
    assert show(env, client_id)["kind"] == "third_party"


def test_a_bad_manifest_is_one_line_naming_the_field(env: Env, tmp_path: Path) -> None:
    manifest = json.loads(HOUSING.read_text(encoding="utf-8"))
    manifest["redirect_uris"].append("http://housing.exampleton.gov.uk/callback")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(manifest), encoding="utf-8")

    line = fails(env, "clients", "add", "--from", str(bad))

    assert line == (
        "Error: 'redirect_uris[1]' must use https (http only for 127.0.0.1, localhost or [::1])."
    )


def test_a_private_key_in_the_manifest_is_refused(env: Env, tmp_path: Path) -> None:
    manifest = json.loads(HOUSING.read_text(encoding="utf-8"))
    manifest["jwks"]["keys"][0]["d"] = "c2VjcmV0"
    bad = tmp_path / "private.json"
    bad.write_text(json.dumps(manifest), encoding="utf-8")

    line = fails(env, "clients", "add", "--from", str(bad))

    assert line.startswith("Error: 'jwks.keys[0]' is a private or symmetric key")


def test_a_file_that_is_not_json_is_one_line(env: Env, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("name: housing\n", encoding="utf-8")

    assert fails(env, "clients", "add", "--from", str(bad)) == (
        "Error: 'manifest' is not valid JSON."
    )


@pytest.mark.parametrize(
    "command", [["show"], ["suspend"], ["reinstate"], ["update", "--from", str(HOUSING)]]
)
def test_an_unknown_id_is_one_line(env: Env, command: list[str]) -> None:
    name, *rest = command
    unknown = "0190c6a4-0000-7000-8000-000000000000"

    line = fails(env, "clients", name, unknown, *rest)

    assert line == f"Error: There is no client with id {unknown}."


def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    fresh: Env = dict.fromkeys(SETTING_NAMES)
    fresh["PDS_DATA_DIR"] = str(tmp_path / "data")

    assert fails(fresh, "clients", "list") == (
        "Error: the database is not migrated: run `pds db upgrade`"
    )


def test_show_names_rsa_keys_by_size(env: Env, tmp_path: Path) -> None:
    manifest = json.loads(HOUSING.read_text(encoding="utf-8"))
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}).as_dict(private=False)
    manifest["jwks"]["keys"].append(rsa)
    path = tmp_path / "rsa.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    client_id = add(env, path)

    lines = succeeds(env, "clients", "show", client_id)

    assert f"{'':20}inline: RSA 2048 bits (rsa-1)" in lines
