"""Sequences are drawn only by real inserts: months of no-op syncs and identical PUTs use none."""

from __future__ import annotations

import uuid

import psycopg

from tests.conftest import app_connect, owner_connect
from tests.data import World, fill_known_world


def usage() -> dict[str, int | None]:
    with app_connect() as app:
        return {
            name: last for name, last, _, _ in app.execute("SELECT * FROM api.sequence_usage()").fetchall()
        }


def test_no_op_syncs_and_identical_puts_draw_no_sequence_value(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    main, recs = databases
    world = World(main, recs)
    fill_known_world(world)
    user = uuid.uuid4()
    put = "SELECT FROM api.upsert_user_demographics(%s, 'f', '25-34', NULL, 'en', 3)"
    with owner_connect() as owner, app_connect() as app:
        owner.execute("SELECT recs.sync_main()")
        app.execute(put, (user,))
        before = usage()
        assert {"recs.items_item_id_seq", "recs.users_user_key_seq"} <= set(before)
        for _ in range(100):
            owner.execute("SELECT recs.sync_main()")
            app.execute(put, (user,))
    after = usage()
    assert after["recs.items_item_id_seq"] == before["recs.items_item_id_seq"]
    assert after["recs.users_user_key_seq"] == before["recs.users_user_key_seq"]

    world.present()  # a real insert draws exactly one value
    with owner_connect() as owner:
        owner.execute("SELECT recs.sync_main()")
    items = usage()["recs.items_item_id_seq"]
    assert items is not None and before["recs.items_item_id_seq"] is not None
    assert items == before["recs.items_item_id_seq"] + 1


def test_sequence_usage_reports_every_recs_sequence_and_its_share(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    with app_connect() as app:
        rows = app.execute("SELECT sequence_name, max_value, used FROM api.sequence_usage()").fetchall()
    names = {name for name, _, _ in rows}
    assert {"recs.items_item_id_seq", "recs.users_user_key_seq", "recs.job_runs_id_seq"} <= names
    assert all(0 <= used < 1 and max_value >= 2**31 - 1 for _, max_value, used in rows)
