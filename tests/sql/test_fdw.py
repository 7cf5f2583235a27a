"""postgres_fdw: the recs database reads the main database and can never write it."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.conftest import PG_PORT, READER_PASSWORD, owner_connect


def _insert_present(main: psycopg.Connection, user_id: uuid.UUID | None = None) -> uuid.UUID:
    present_id = uuid.uuid4()
    main.execute(
        "INSERT INTO handpicked_presents (id, user_id, title, price, category, platform) "
        "VALUES (%s, %s, 'Mug', 12.50, 'home', 'etsy')",
        (present_id, user_id),
    )
    return present_id


def test_fdw_reads_main_data(databases: tuple[psycopg.Connection, ...]) -> None:
    main, _ = databases
    public_id = _insert_present(main)
    private_id = _insert_present(main, user_id=uuid.uuid4())
    with owner_connect() as owner:
        rows = owner.execute(
            "SELECT id, user_id IS NULL, price, category FROM main.handpicked_presents "
            "ORDER BY user_id NULLS FIRST"
        ).fetchall()
    assert [(row[0], row[1]) for row in rows] == [(public_id, True), (private_id, False)]
    assert str(rows[0][2]) == "12.50" and rows[0][3] == "home"


def test_fdw_cannot_write_main(databases: tuple[psycopg.Connection, ...]) -> None:
    main, _ = databases
    present_id = _insert_present(main)
    with owner_connect() as owner:
        for statement in (
            "INSERT INTO main.handpicked_likes (id, user_id, handpicked_present_id, created_at) "
            f"VALUES (gen_random_uuid(), gen_random_uuid(), '{present_id}', now())",
            "UPDATE main.handpicked_presents SET price = 0",
            "DELETE FROM main.handpicked_presents",
        ):
            with pytest.raises(psycopg.Error) as raised:
                owner.execute(statement)  # type: ignore[call-overload]
            assert "read-only transaction" in str(raised.value) or "permission denied" in str(raised.value)
    row = main.execute("SELECT price FROM handpicked_presents").fetchone()
    assert row is not None and str(row[0]) == "12.50"


def test_reader_role_is_read_only_on_main(databases: tuple[psycopg.Connection, ...]) -> None:
    with psycopg.connect(
        f"postgresql://mysanta_main_reader:{READER_PASSWORD}@127.0.0.1:{PG_PORT}/test_main", autocommit=True
    ) as reader:
        reader.execute("SELECT count(*) FROM handpicked_presents")
        with pytest.raises(psycopg.Error):
            reader.execute("SET default_transaction_read_only = off")
            reader.execute("INSERT INTO handpicked_presents (id, title) VALUES (gen_random_uuid(), 'x')")


def test_fdw_requires_a_password_for_the_reader(databases: tuple[psycopg.Connection, ...]) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://mysanta_main_reader@127.0.0.1:{PG_PORT}/test_main", connect_timeout=3)
