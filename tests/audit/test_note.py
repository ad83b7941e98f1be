"""C2SP signed-note and tlog-checkpoint.

The external anchor is the worked example in the golang.org/x/mod/sumdb/note
package documentation (the reference implementation of c2sp.org/signed-note):
its signer key, verifier key and signed note. Ed25519 is deterministic
(RFC 8032), so signing the same text with the same key must reproduce that
note byte for byte; if it does, Go-ecosystem verifiers accept our notes.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pds.audit import note as note_module
from pds.audit.merkle import EMPTY_ROOT, leaf_hash
from pds.audit.note import (
    MAX_SIGNATURES,
    Checkpoint,
    NoteError,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key_string,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# golang.org/x/mod/sumdb/note, package documentation, section "Example".
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_SIGNATURE
# The same document's doubly-signed note; EnochRoot's verifier key is from Go's note_test.go.
ENOCH_VERIFIER_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
ENOCH_SIGNATURE = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWL"
    "ox33WWd1RvMc+QQ=\n"
)

ORIGIN = "council.example/pds-log"


def go_private_key() -> Ed25519PrivateKey:
    """Decode Go's ``PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)`` signer key."""
    raw = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])
    assert raw[0] == 1
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


@pytest.fixture
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def trusted(log_key: Ed25519PrivateKey) -> list[tuple[str, Ed25519PublicKey]]:
    return [(ORIGIN, log_key.public_key())]


# --- the Go reference example ---------------------------------------------------


def test_go_example_is_reproduced_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, "PeterNeumann", go_private_key()) == GO_NOTE


def test_go_example_verifier_key() -> None:
    public_key = go_private_key().public_key()
    assert verifier_key_string("PeterNeumann", public_key) == GO_VERIFIER_KEY
    assert key_id("PeterNeumann", public_key).hex() == "c74f20a3"
    name, parsed = parse_verifier_key(GO_VERIFIER_KEY)
    assert name == "PeterNeumann"
    assert parsed.public_bytes_raw() == public_key.public_bytes_raw()


def test_go_example_opens() -> None:
    verifier = parse_verifier_key(GO_VERIFIER_KEY)
    assert open_note(GO_NOTE, [verifier]) == (GO_TEXT, ["PeterNeumann"])
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [verifier])


def test_go_doubly_signed_example() -> None:
    note = GO_NOTE + ENOCH_SIGNATURE
    peter, enoch = parse_verifier_key(GO_VERIFIER_KEY), parse_verifier_key(ENOCH_VERIFIER_KEY)
    assert open_note(note, [peter, enoch]) == (GO_TEXT, ["PeterNeumann", "EnochRoot"])
    assert open_note(note, [enoch]) == (GO_TEXT, ["EnochRoot"])  # the other one is unknown


def test_key_id_matches_hand_computed_hash(log_key: Ed25519PrivateKey) -> None:
    public = log_key.public_key()
    raw = public.public_bytes_raw()
    golden = hashlib.sha256(ORIGIN.encode() + b"\x0a" + b"\x01" + raw).digest()[:4]
    assert key_id(ORIGIN, public) == golden
    encoded = base64.b64encode(b"\x01" + raw).decode()
    assert verifier_key_string(ORIGIN, public) == f"{ORIGIN}+{golden.hex()}+{encoded}"


# --- sign and open ----------------------------------------------------------------


def test_round_trip(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    body = "hello\n\nan empty line above is allowed in a note\n"
    note = sign_note(body, ORIGIN, log_key)
    assert note.startswith(body + "\n\u2014 " + ORIGIN + " ")
    assert open_note(note, trusted) == (body, [ORIGIN])
    assert open_note(note, dict(trusted)) == (body, [ORIGIN])


def test_tampered_body_fails(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    note = sign_note("size 1\n", ORIGIN, log_key)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note.replace("size 1", "size 2"), trusted)


def test_tampered_signature_fails(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    body = "x\n"
    note = sign_note(body, ORIGIN, log_key)
    blob = bytearray(base64.b64decode(note.rsplit(" ", 1)[1]))
    blob[10] ^= 1
    tampered = f"{body}\n\u2014 {ORIGIN} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_note(tampered, trusted)


def test_unknown_key_fails(log_key: Ed25519PrivateKey) -> None:
    note = sign_note("x\n", ORIGIN, log_key)
    stranger = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(note, [(ORIGIN, stranger)])
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(note, [])


def test_wrong_key_name_fails(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    # Same key and key ID, other name: a different (name, ID) pair, so unknown.
    note = sign_note("x\n", ORIGIN, log_key)
    renamed = note.replace(f"\u2014 {ORIGIN} ", "\u2014 other.example/log ")
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(renamed, trusted)
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(note, [("other.example/log", log_key.public_key())])


def test_unknown_signatures_are_ignored(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    body = "x\n"
    witness = sign_note(body, "witness.example", Ed25519PrivateKey.generate())
    ours = sign_note(body, ORIGIN, log_key)
    both = ours + witness.split("\n\n", 1)[1]
    assert open_note(both, trusted) == (body, [ORIGIN])


def test_bad_trusted_signature_rejects_even_with_a_good_one(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    witness = Ed25519PrivateKey.generate()
    verifiers = [*trusted, ("witness.example", witness.public_key())]
    good = sign_note("x\n", ORIGIN, log_key)
    bad_witness = sign_note("y\n", "witness.example", witness).split("\n\n", 1)[1]
    with pytest.raises(NoteError, match=r"witness\.example does not verify"):
        open_note(good + bad_witness, verifiers)
    bad_repeat = _signature_line(log_key, "y\n")  # the same key again, over other text
    with pytest.raises(NoteError, match="does not verify"):
        open_note(good + bad_repeat, trusted)


def test_repeated_signature_counts_once(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    note = sign_note("x\n", ORIGIN, log_key)
    line = note.split("\n\n", 1)[1]
    assert open_note(note + line, trusted) == ("x\n", [ORIGIN])


def test_key_rotation_accepts_either_key(log_key: Ed25519PrivateKey) -> None:
    old, new = Ed25519PrivateKey.generate(), log_key
    verifiers = [(ORIGIN, old.public_key()), (ORIGIN, new.public_key())]
    assert open_note(sign_note("x\n", ORIGIN, new), verifiers)[1] == [ORIGIN]
    assert open_note(sign_note("x\n", ORIGIN, old), verifiers)[1] == [ORIGIN]


def _signature_line(key: Ed25519PrivateKey, body: str = "x\n") -> str:
    return sign_note(body, ORIGIN, key).split("\n\n", 1)[1]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda n: n.replace("\n\n", "\n"), "no signature block"),
        (lambda n: n[:-1], "end with a newline"),
        (lambda n: n + "\n", "end with a newline"),
        (lambda n: n.replace("\u2014 ", "- "), "em dash"),
        (lambda n: n.replace("\u2014 ", "\u2014"), "em dash"),
        (lambda n: n.replace(f"{ORIGIN} ", f"{ORIGIN}  "), "base64"),
        (lambda n: n.replace(f"{ORIGIN} ", "bad+name "), "key name"),
        (lambda n: n.replace(f"{ORIGIN} ", " "), "key name"),
        (lambda n: n.replace("x\n", "x\t\n", 1), "control character"),
        (lambda n: n.replace("x\n", "x\r\n", 1), "control character"),
        (lambda n: n.replace("x\n", "x\ud800\n", 1), "UTF-8"),
        (lambda n: n.rsplit(" ", 1)[0] + " !!!!\n", "base64"),
        (lambda n: n.rsplit(" ", 1)[0] + " AAAAAA\n", "base64"),
        (lambda n: n.rsplit(" ", 1)[0] + " AAAAAA==\n", "too short"),
        (lambda n: n.rsplit(" ", 1)[0] + " \n", "too short"),
    ],
)
def test_malformed_notes_fail(
    log_key: Ed25519PrivateKey,
    trusted: list[tuple[str, Ed25519PublicKey]],
    mangle: Callable[[str], str],
    reason: str,
) -> None:
    with pytest.raises(NoteError, match=reason):
        open_note(mangle(sign_note("x\n", ORIGIN, log_key)), trusted)


def test_non_canonical_base64_fails(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    note = sign_note("x\n", ORIGIN, log_key)
    encoded = note.rsplit(" ", 1)[1][:-1]
    assert encoded.endswith("=")  # 68 bytes encode with exactly one '='
    assert not encoded.endswith("==")
    last = encoded[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sloppy = alphabet[alphabet.index(last) ^ 1]  # the two spare low bits must be zero
    with pytest.raises(NoteError, match="canonical"):
        open_note(note.replace(encoded, encoded[:-2] + sloppy + "="), trusted)


def test_signature_count_limit(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    note = sign_note("x\n", ORIGIN, log_key)
    strangers = "".join(_signature_line(Ed25519PrivateKey.generate()) for _ in range(15))
    assert open_note(note + strangers, trusted)[1] == [ORIGIN]  # 16 must be accepted
    line = _signature_line(Ed25519PrivateKey.generate())
    with pytest.raises(NoteError, match="too many"):
        open_note(note + line * MAX_SIGNATURES, trusted)


def test_note_length_limit(trusted: list[tuple[str, Ed25519PublicKey]]) -> None:
    with pytest.raises(NoteError, match="too long"):
        open_note("a" * (1 << 20) + "\n\n\u2014 n AAAAAAA=\n", trusted)


@pytest.mark.parametrize(
    ("body", "name"),
    [("no newline", ORIGIN), ("", ORIGIN), ("tab\t\n", ORIGIN), ("x\n", ""), ("x\n", "a b")],
)
def test_sign_note_rejects_bad_input(log_key: Ed25519PrivateKey, body: str, name: str) -> None:
    with pytest.raises(ValueError, match=r"newline|control|key name"):
        sign_note(body, name, log_key)


def test_conflicting_trusted_keys_are_a_configuration_error(
    log_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two different keys with one name and key ID cannot be found by chance, so
    # force the collision that a tampered trust list could contain.
    monkeypatch.setattr(note_module, "key_id", lambda *_: b"\0\0\0\0")
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(ValueError, match="share name and key ID"):
        open_note("x\n\n", [(ORIGIN, log_key.public_key()), (ORIGIN, other)])


@pytest.mark.parametrize(
    "vkey",
    [
        GO_VERIFIER_KEY.replace("c74f20a3", "c74f20a4"),
        GO_VERIFIER_KEY.replace("+c74f20a3", "+c74f20a"),
        GO_VERIFIER_KEY.replace("PeterNeumann", "PeterNeuman"),
        GO_VERIFIER_KEY.replace("+ARpc", "+Ahpc"),  # type byte 0x02
        GO_VERIFIER_KEY[:-4],
        GO_VERIFIER_KEY.replace("PeterNeumann+", ""),
        "PeterNeumann+c74f20a3+not-base64",
        "",
    ],
)
def test_parse_verifier_key_rejects(vkey: str) -> None:
    with pytest.raises(ValueError, match=r"verifier key|base64"):
        parse_verifier_key(vkey)


# --- checkpoints --------------------------------------------------------------------


def test_checkpoint_body_format() -> None:
    root = leaf_hash(b"entry")
    checkpoint = Checkpoint(ORIGIN, 12, root)
    assert checkpoint.body() == f"{ORIGIN}\n12\n{base64.b64encode(root).decode()}\n"
    with_ext = Checkpoint(ORIGIN, 0, EMPTY_ROOT, ("ext one", "ext two"))
    assert with_ext.body().endswith("\next one\next two\n")
    assert parse_checkpoint(with_ext.body()) == with_ext


def test_spec_example_checkpoint_parses() -> None:
    # The body of the example in c2sp.org/tlog-checkpoint.
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = parse_checkpoint(body)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.body() == body


def test_open_checkpoint(
    log_key: Ed25519PrivateKey, trusted: list[tuple[str, Ed25519PublicKey]]
) -> None:
    checkpoint = Checkpoint(ORIGIN, 3, leaf_hash(b"r"))
    note = sign_note(checkpoint.body(), ORIGIN, log_key)
    assert open_checkpoint(note, ORIGIN, trusted) == checkpoint
    with pytest.raises(NoteError, match="another log"):
        open_checkpoint(note, "council.example/other-log", trusted)


ROOT64 = base64.b64encode(EMPTY_ROOT).decode()
URLSAFE_ROOT64 = base64.urlsafe_b64encode(b"\xff" * 32).decode()
SHORT_ROOT64 = base64.b64encode(EMPTY_ROOT[:31]).decode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"{ORIGIN}\n1\n{ROOT64}", "newline"),
        (f"{ORIGIN}\n1\n", "origin, size and root"),
        (f"\n1\n{ROOT64}\n", "non-empty"),
        (f"{ORIGIN}\n01\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n-1\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n+1\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n 1\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n\u0661\n{ROOT64}\n", "leading zeros"),  # Arabic-Indic digit one
        (f"{ORIGIN}\n{2**64}\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n1\n{ROOT64[:-1]}\n", "base64"),
        (f"{ORIGIN}\n1\n{SHORT_ROOT64}\n", "32 bytes"),
        (f"{ORIGIN}\n1\n{URLSAFE_ROOT64}\n", "base64"),
        (f"{ORIGIN}\n1\n{ROOT64}\n\n", "non-empty"),
        (f"{ORIGIN}\n1\n{ROOT64}\next\x01\n", "control character"),
    ],
)
def test_parse_checkpoint_is_strict(body: str, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        parse_checkpoint(body)


def test_parse_checkpoint_accepts_largest_size() -> None:
    assert parse_checkpoint(f"{ORIGIN}\n{2**64 - 1}\n{ROOT64}\n").size == 2**64 - 1


@pytest.mark.parametrize(
    "fields",
    [
        ("", 1, EMPTY_ROOT, ()),
        ("a\nb", 1, EMPTY_ROOT, ()),
        (ORIGIN, -1, EMPTY_ROOT, ()),
        (ORIGIN, 2**64, EMPTY_ROOT, ()),
        (ORIGIN, True, EMPTY_ROOT, ()),
        (ORIGIN, 1, b"short", ()),
        (ORIGIN, 1, EMPTY_ROOT, ("",)),
    ],
)
def test_checkpoint_rejects_bad_fields(fields: tuple[str, int, bytes, tuple[str, ...]]) -> None:
    with pytest.raises(ValueError, match=r"non-empty|size|32 bytes"):
        Checkpoint(*fields)
