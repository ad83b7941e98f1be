"""``python -m benchmarks``: every benchmark, each printing its own table."""

from __future__ import annotations

import sys

from benchmarks import audit, credentials, http_vault, oauth, vault_crypto


def main(argv: list[str]) -> None:
    vault_crypto.main(argv)
    print()
    http_vault.main(argv)
    print()
    audit.main(argv)
    print()
    oauth.main(argv)
    print()
    credentials.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
