"""Migrations are append-only and frozen: every file matches the sum committed in checksums.sha256."""

from __future__ import annotations

import re

from service.migrate import MIGRATIONS_DIR, migration_checksums

CHECKSUMS = MIGRATIONS_DIR / "checksums.sha256"


def committed_checksums() -> dict[str, str]:
    """checksums.sha256 (sha256sum's format: `<hex>  <file>` per line), by file name."""
    sums = {}
    for line in CHECKSUMS.read_text().splitlines():
        checksum, name = line.split(maxsplit=1)
        sums[name.lstrip("*")] = checksum
    return sums


def test_no_migration_changed_since_it_was_committed() -> None:
    committed, on_disk = committed_checksums(), migration_checksums()
    changed = sorted(name for name in committed.keys() & on_disk.keys() if committed[name] != on_disk[name])
    assert not changed, (
        f"{changed} changed after they were frozen: restore them and put the change in a new migration"
    )
    assert not committed.keys() - on_disk.keys(), (
        f"frozen migrations were removed: {committed.keys() - on_disk.keys()}"
    )


def test_every_migration_is_frozen_in_order() -> None:
    committed, on_disk = committed_checksums(), migration_checksums()
    unlisted = sorted(on_disk.keys() - committed.keys())
    assert not unlisted, (
        f"{unlisted} missing from migrations/checksums.sha256: once the migration is final, run "
        "`cd migrations && sha256sum *.sql > checksums.sha256`"
    )
    names = list(committed)
    assert names == sorted(names), "checksums.sha256 lists the migrations in apply order"
    for name in names:
        assert re.fullmatch(r"\d{4}\.[a-z0-9]+(-[a-z0-9]+)*\.sql", name), f"{name}: NNNN.topic.sql"
    numbers = [int(name[:4]) for name in names]
    # Each number once, in order; a number reserved for a branch not merged yet may be missing.
    assert numbers[0] == 1 and numbers == sorted(set(numbers)), "migrations are numbered from 0001, in order"
