"""``credentials.status_list`` against the draft's vectors, plus the token round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from credentials.status_list import (
    StatusList,
    StatusListInvalid,
    allocate_index,
    sign_token,
    status_of,
    verify_token,
)

VECTORS = Path(__file__).parent / "fixtures" / "status-list"
EXPECTED = json.loads((VECTORS / "expected.json").read_text())
URI = "https://pds.example/status/1"


def _encoded(name: str) -> dict[str, object]:
    text = (VECTORS / name).read_text()
    body = text[text.index("{") : text.rindex("}") + 1]
    lst = "".join(body.split('"lst": "', 1)[1].split('"', 1)[0].split())
    return {"bits": json.loads(body.split('"bits":', 1)[1].split(",", 1)[0]), "lst": lst}


def test_small_vectors_decode_to_the_draft_bytes() -> None:
    assert StatusList.from_json(_encoded("status_list_encoding_json.md")).data == b"\xb9\xa3"
    assert StatusList.from_json(_encoded("status_list_encoding2_json.md")).data == b"\xc9\x44\xf9"
    one = StatusList(16, bits=1)
    for index, value in enumerate([1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]):
        one[index] = value
    assert one.data == b"\xb9\xa3"
    two = StatusList(12, bits=2)
    for index, value in enumerate([1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]):
        two[index] = value
    assert two.data == b"\xc9\x44\xf9"


@pytest.mark.parametrize("bits", ["1", "2", "4", "8"])
def test_long_vectors_decode_and_reencode(bits: str) -> None:
    case = EXPECTED[bits]
    decoded = StatusList.from_json(_encoded(case["json_example"]))
    statuses = {int(index): value for index, value in case["statuses"].items()}
    assert (len(decoded), decoded.bits) == (case["size"], int(bits))
    ours = StatusList(case["size"], bits=int(bits))
    for index, value in statuses.items():
        ours[index] = value
    assert ours.data == decoded.data
    assert StatusList.from_json(ours.to_json()).data == decoded.data
    assert all(decoded[index] == value for index, value in statuses.items())
    unlisted = next(index for index in range(case["size"]) if index not in statuses)
    assert decoded[unlisted] == 0


def test_token_round_trip_and_refusals() -> None:
    key = ECKey.generate_key("P-256")
    keys = {"k": {**key.as_dict(private=False), "kid": "k"}}
    statuses = StatusList(1024)
    statuses[7] = 1
    token = sign_token(statuses, key, uri=URI, now=1000, lifetime=3600, ttl=600, kid="k")
    verified = verify_token(token, uri=URI, public_keys=keys, now=1100)
    assert (status_of(verified, 7), status_of(verified, 8), verified.ttl) == (1, 0, 600)
    for kwargs, reason in [
        ({"uri": URI + "x", "now": 1100}, "wrong_sub"),
        ({"uri": URI, "now": 9000}, "expired"),
        ({"uri": URI, "now": 900}, "bad_iat"),
        ({"uri": URI, "now": 1100, "max_age": 10}, "stale"),
    ]:
        with pytest.raises(StatusListInvalid) as caught:
            verify_token(token, public_keys=keys, **kwargs)  # type: ignore[arg-type]
        assert caught.value.reason == reason
    with pytest.raises(StatusListInvalid, match="not valid"):
        status_of(verified, 1024)
    other = {"k": {**ECKey.generate_key("P-256").as_dict(private=False), "kid": "k"}}
    with pytest.raises(StatusListInvalid):
        verify_token(token, uri=URI, public_keys=other, now=1100)


def test_allocation_never_reuses_an_index() -> None:
    taken: set[int] = set()
    for _ in range(64):
        taken.add(allocate_index(64, taken))
    assert taken == set(range(64))
    with pytest.raises(LookupError):
        allocate_index(64, taken)


def test_bad_lists_are_refused() -> None:
    for value in [None, {"bits": 3, "lst": "eNrbuRgAAhcBXQ"}, {"bits": 1, "lst": "!!"}]:
        with pytest.raises(StatusListInvalid):
            StatusList.from_json(value)
    with pytest.raises(ValueError, match="bits"):
        StatusList(8, bits=3)
    with pytest.raises(ValueError, match=r"0\.\.3"):
        StatusList(8)[0] = 4
