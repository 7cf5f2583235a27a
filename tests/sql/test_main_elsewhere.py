"""Main on another PostgreSQL server, as in production: its DBA runs the reader-role script, the
recs side is bootstrapped and migrated without touching main, and the reader sees only the columns
the service needs. Main's schema dump is the same before and after the service's whole setup."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from decimal import Decimal

import msgspec
import psycopg
import pytest

from service.bootstrap import DEV_MAIN_SCHEMA_FILE, bootstrap, main_grants
from service.dsn import parse_pg_url
from service.migrate import migrate
from service.settings import Settings
from tests.clusters import Cluster
from tests.conftest import (
    APP_PASSWORD,
    OWNER_PASSWORD,
    PG_PORT,
    READER_PASSWORD,
    SUPERUSER_URL,
    make_settings,
)

RECS_DB = "elsewhere_recs"
PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
RAILS_EXTRA = """
CREATE TABLE secrets (id serial PRIMARY KEY, user_id uuid, api_token text NOT NULL);
COMMENT ON TABLE handpicked_presents IS 'Rails'' own comment, which the service must leave alone.';
INSERT INTO users (id, gender, birth_date) VALUES ('00000000-0000-0000-0000-0000000000a1', 'f', '1990-01-01');
INSERT INTO secrets (user_id, api_token) VALUES ('00000000-0000-0000-0000-0000000000a1', 'tok-123');
INSERT INTO handpicked_presents (id, user_id, title, price, category, platform)
SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid,
       CASE WHEN n > 8 THEN '00000000-0000-0000-0000-0000000000a1'::uuid END,  -- 9 and 10 are private
       'present ' || n, 10 * n, 'books', 'etsy'
FROM generate_series(1, 10) n;
INSERT INTO handpicked_likes (id, user_id, handpicked_present_id)
SELECT gen_random_uuid(), ('00000000-0000-0000-0000-0000000001' || lpad(u::text, 2, '0'))::uuid,
       ('00000000-0000-0000-0000-' || lpad(p::text, 12, '0'))::uuid
FROM generate_series(1, 6) u, generate_series(1, 10) p
WHERE (u + p) % 3 <> 0;
"""


@pytest.fixture(scope="module")
def rails() -> Iterator[Cluster]:
    """A second cluster holding the Rails database, its own tables and rows, as Rails left them."""
    own = Cluster("mysanta-rails-")
    try:
        own.infra("start-postgres")
        with psycopg.connect(own.superuser_url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE rails_main")
        with psycopg.connect(own.superuser_url("rails_main"), autocommit=True) as conn:
            conn.execute(DEV_MAIN_SCHEMA_FILE.read_bytes())  # the schema Rails has
            conn.execute(RAILS_EXTRA.encode())
        yield own
    finally:
        own.remove()


def elsewhere_settings(rails: Cluster, main_db: str = "rails_main") -> Settings:
    """The service's settings with main in the Rails cluster (database main_db) and recs here."""
    return make_settings(
        main_database_url=f"postgresql://mysanta_main_reader:{READER_PASSWORD}@127.0.0.1:{rails.port}/{main_db}",
        recommendations_database_url=f"postgresql://mysanta_app:{APP_PASSWORD}@127.0.0.1:{PG_PORT}/{RECS_DB}",
        recommendations_owner_database_url=(
            f"postgresql://mysanta_owner:{OWNER_PASSWORD}@127.0.0.1:{PG_PORT}/{RECS_DB}"
        ),
    )


def deploy_elsewhere(rails: Cluster, settings: Settings, main_db: str = "rails_main") -> None:
    """What the two DBAs run: the reader's grants on main (main_db in the Rails cluster), then
    bootstrap and migrate of the recs cluster (no cron)."""
    main_grants(settings.main_database_url, rails.superuser_url(main_db))
    bootstrap(SUPERUSER_URL, settings)
    migrate(settings, schedule=False)


def fresh_rails_database(rails: Cluster, name: str) -> None:
    """An empty database of that name in the Rails cluster, dropped first if a run left one."""
    with psycopg.connect(rails.superuser_url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")


def schema_dump(rails: Cluster) -> str:
    done = subprocess.run(
        [PG_DUMP, "--schema-only", "--restrict-key=compare", "--dbname", rails.superuser_url("rails_main")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout


@pytest.fixture
def recs_elsewhere(databases: tuple[psycopg.Connection, ...]) -> Iterator[None]:
    yield
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {RECS_DB} WITH (FORCE)")


def test_the_service_runs_on_a_main_database_it_only_reads(rails: Cluster, recs_elsewhere: None) -> None:
    settings = elsewhere_settings(rails)
    main_grants(settings.main_database_url, rails.superuser_url("rails_main"))  # what the main DB's DBA runs
    before = schema_dump(rails)

    bootstrap(SUPERUSER_URL, settings)  # the recs cluster only
    migrate(settings, schedule=False)
    with psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as owner:
        owner.execute("CALL recs.refresh_all()")
        columns = set(owner.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall())  # fmt: skip
    with psycopg.connect(settings.recommendations_database_url, autocommit=True) as app:
        popular = app.execute(
            "SELECT items FROM api.popular(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 20)"
        )
        items = {str(item) for item in popular.fetchone()[0]}  # type: ignore[index]
        row = app.execute(
            "SELECT items, algorithm_used"
            " FROM api.personalized(%s, NULL, NULL, NULL, NULL, NULL, 1, 3, NULL)",
            ("00000000-0000-0000-0000-000000000101",),
        ).fetchone()
    assert len(items) == 8 and not any(
        item.endswith(("0009", "0010")) for item in items
    )  # never a private one
    assert row is not None and row[1] == "collaborative" and len(row[0]) == 3

    assert schema_dump(rails) == before  # nothing of main's schema changed, comments included

    with psycopg.connect(rails.superuser_url("rails_main")) as admin:
        granted = set(admin.execute(
            "SELECT table_name, column_name FROM information_schema.column_privileges"
            " WHERE grantee = 'mysanta_main_reader' AND privilege_type = 'SELECT'"
        ).fetchall())  # fmt: skip
        other = admin.execute(
            "SELECT count(*) FROM information_schema.table_privileges WHERE grantee = 'mysanta_main_reader'"
        ).fetchone()
    assert granted == columns  # exactly the columns of the foreign tables
    assert other == (0,)  # no table-wide privilege at all


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count(birth_date) FROM users",
        "SELECT api_token FROM secrets",
        "SELECT title FROM handpicked_presents",
        "SELECT * FROM handpicked_presents",
        "INSERT INTO handpicked_likes (id, user_id, handpicked_present_id) VALUES (gen_random_uuid(),"
        " gen_random_uuid(), '00000000-0000-0000-0000-000000000001')",
        "DELETE FROM handpicked_present_clicks",
    ],
)
def test_the_reader_cannot_read_beyond_its_columns_nor_write(rails: Cluster, statement: str) -> None:
    main_grants(elsewhere_settings(rails).main_database_url, rails.superuser_url("rails_main"))
    reader = f"postgresql://mysanta_main_reader:{READER_PASSWORD}@127.0.0.1:{rails.port}/rails_main"
    with psycopg.connect(reader, autocommit=True) as conn:
        assert conn.execute("SELECT count(id), sum(price) FROM handpicked_presents").fetchone() == (10, 550)
        conn.execute("SET default_transaction_read_only = off")  # a session may lift this; grants hold
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)  # type: ignore[arg-type]


def test_the_reader_script_revokes_what_an_earlier_bootstrap_granted(rails: Cluster) -> None:
    with psycopg.connect(rails.superuser_url("rails_main"), autocommit=True) as admin:
        main_grants(elsewhere_settings(rails).main_database_url, rails.superuser_url("rails_main"))
        admin.execute(
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO mysanta_main_reader"
        )  # the old, broad grant
        main_grants(elsewhere_settings(rails).main_database_url, rails.superuser_url("rails_main"))
        row = admin.execute(
            "SELECT has_table_privilege('mysanta_main_reader', 'users', 'SELECT'),"
            " has_column_privilege('mysanta_main_reader', 'handpicked_presents', 'price', 'SELECT')"
        ).fetchone()
    assert row == (False, True)


def test_the_reader_script_refuses_a_role_that_is_not_a_dedicated_reader(rails: Cluster) -> None:
    with psycopg.connect(rails.superuser_url("rails_main"), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS rails_app")
        admin.execute("CREATE ROLE rails_app LOGIN")
        admin.execute("CREATE TABLE rails_owned (id int)")
        admin.execute("ALTER TABLE rails_owned OWNER TO rails_app")  # as Rails' own role would
        try:
            rails_url = f"postgresql://rails_app:whatever-it-is@127.0.0.1:{rails.port}/rails_main"
            with pytest.raises(psycopg.errors.RaiseException, match="rails_app is not a dedicated reader"):
                main_grants(rails_url, rails.superuser_url("rails_main"))
            assert admin.execute(
                "SELECT has_table_privilege('rails_app', 'rails_owned', 'INSERT')"
            ).fetchone() == (True,)  # untouched
        finally:
            admin.execute("DROP TABLE rails_owned")
            admin.execute("DROP ROLE rails_app")


def test_rails_timestamps_without_time_zone_sync_whatever_the_recs_clusters_time_zone(
    rails: Cluster, recs_elsewhere: None
) -> None:
    """Rails' datetime columns are timestamp without time zone, in UTC. postgres_fdw sends a bound
    on them as a literal that main reads as a timestamp (dropping its offset), and the recs side
    reads their values in its session's time zone: the jobs (pg_cron's sessions take the cluster's
    zone, a Debian server's own) and the live reads must not depend on it."""
    fresh_rails_database(rails, "rails_naive")
    naive_schema = DEV_MAIN_SCHEMA_FILE.read_text().replace("timestamptz", "timestamp")
    with psycopg.connect(rails.superuser_url("rails_naive"), autocommit=True) as conn:
        conn.execute(naive_schema.encode())
        conn.execute(
            "INSERT INTO handpicked_presents (id, title, price, category, platform, created_at, updated_at)"
            " SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid, 'p' || n, 10, 'books',"
            " 'etsy', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC' FROM generate_series(1, 4) n"
        )
    settings = elsewhere_settings(rails, "rails_naive")
    deploy_elsewhere(rails, settings, "rails_naive")
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as conn:  # as a cluster east of UTC would have
        conn.execute(f"ALTER DATABASE {RECS_DB} SET timezone = 'Asia/Tokyo'")

    def like(user: int, present: int) -> None:  # as Rails writes it: UTC, no zone
        with psycopg.connect(rails.superuser_url("rails_naive"), autocommit=True) as conn:
            conn.execute(
                "INSERT INTO handpicked_likes (id, user_id, handpicked_present_id, created_at)"
                " VALUES (gen_random_uuid(), %s, %s, now() AT TIME ZONE 'UTC')",
                (f"00000000-0000-0000-0000-0000000001{user:02d}", f"00000000-0000-0000-0000-{present:012d}"),
            )

    def synced_likes(owner: psycopg.Connection) -> int:
        owner.execute("CALL recs.refresh_all()")
        row = owner.execute("SELECT count(liked_at) FROM recs.interactions").fetchone()
        return row[0] if row else -1

    with psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as owner:
        like(1, 1)
        assert synced_likes(owner) == 1
        newest = owner.execute(
            "SELECT max(liked_at) BETWEEN now() - interval '1 minute' AND now() FROM recs.interactions"
        ).fetchone()
        assert newest == (True,)  # the time it was liked, not hours away
        like(1, 2)  # the live read sees it before the next sync
        fresh = owner.execute(
            "SELECT count(*) FROM recs.fresh_interactions('00000000-0000-0000-0000-000000000101') WHERE liked"
        ).fetchone()
        assert fresh is not None and fresh[0] >= 1
        like(2, 3)
        assert synced_likes(owner) == 3  # the incremental sync reads them: none skipped


def test_values_of_a_real_rails_schema_neither_stop_the_sync_nor_reach_pages_wrongly(
    rails: Cluster, recs_elsewhere: None
) -> None:
    """Rails' `t.boolean :available, default: true` is nullable, `t.decimal :price` has no precision,
    `t.timestamps` before Rails 5 were nullable, a guest's click may have no user: one NULL or one
    huge price must not stop every job, and a negative price is no price."""
    fresh_rails_database(rails, "rails_nullable")
    with psycopg.connect(rails.superuser_url("rails_nullable"), autocommit=True) as conn:
        conn.execute(DEV_MAIN_SCHEMA_FILE.read_bytes())
        conn.execute("ALTER TABLE handpicked_presents ALTER available DROP NOT NULL")
        conn.execute("ALTER TABLE handpicked_present_clicks ALTER user_id DROP NOT NULL")
        conn.execute("ALTER TABLE handpicked_presents DROP CONSTRAINT handpicked_presents_price_check")
        conn.execute("ALTER TABLE handpicked_presents ALTER price TYPE numeric")
        conn.execute(
            "ALTER TABLE handpicked_presents ALTER created_at DROP NOT NULL, ALTER updated_at DROP NOT NULL"
        )
        conn.execute(
            "INSERT INTO handpicked_presents (id, title, price, category, platform, available)"
            " SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid, 'p' || n, 10, 'books',"
            " 'etsy', CASE WHEN n = 1 THEN NULL ELSE true END FROM generate_series(1, 3) n"
        )
        conn.execute(
            "UPDATE handpicked_presents SET price = CASE id WHEN '00000000-0000-0000-0000-000000000002'"
            " THEN 9999999999.995 ELSE 12.345 END WHERE id <> '00000000-0000-0000-0000-000000000001'"
        )
        conn.execute(
            "UPDATE handpicked_presents SET price = -5 WHERE id = '00000000-0000-0000-0000-000000000001'"
        )
        conn.execute(  # a guest's click
            "INSERT INTO handpicked_present_clicks (id, user_id, handpicked_present_id)"
            " VALUES (gen_random_uuid(), NULL, '00000000-0000-0000-0000-000000000002')"
        )
        conn.execute(  # as Rails before 5 could leave them
            "UPDATE handpicked_presents SET created_at = NULL, updated_at = CASE WHEN id ="
            " '00000000-0000-0000-0000-000000000003' THEN NULL ELSE updated_at END"
        )
        conn.execute(
            "INSERT INTO handpicked_likes (id, user_id, handpicked_present_id)"
            " SELECT gen_random_uuid(),"
            " ('00000000-0000-0000-0000-0000000001' || lpad(u::text, 2, '0'))::uuid,"
            " ('00000000-0000-0000-0000-' || lpad(p::text, 12, '0'))::uuid"
            " FROM generate_series(1, 3) u, generate_series(1, 3) p"
        )
    settings = elsewhere_settings(rails, "rails_nullable")
    deploy_elsewhere(rails, settings, "rails_nullable")
    with psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as owner:
        owner.execute("CALL recs.refresh_all()")
        prices = owner.execute("SELECT price FROM recs.items ORDER BY present_id").fetchall()
    # Rounded to cents; below 0, or 10^10 or more, unknown (9,999,999,999.995 rounds to 10^10).
    assert prices == [(None,), (None,), (Decimal("12.35"),)]
    with psycopg.connect(settings.recommendations_database_url, autocommit=True) as app:
        row = app.execute(
            "SELECT items FROM api.popular(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 20)"
        ).fetchone()
    assert row is not None and sorted(str(item)[-1] for item in row[0]) == ["2", "3"]


def test_the_main_urls_query_options_reach_the_link_to_main(rails: Cluster, recs_elsewhere: None) -> None:
    """`?sslmode=require` (or verify-full with sslrootcert) in MAIN_DATABASE_URL is what the FDW
    connects with: dropping it would leave the link to Rails' server unencrypted, unverified."""
    elsewhere = elsewhere_settings(rails)
    settings = msgspec.structs.replace(
        elsewhere,
        # Percent-decoded as libpq decodes a URI (a + stays a +, not a space as in a form).
        main_database_url=elsewhere.main_database_url + "?sslmode=require&application_name=mysanta%2Brecs+1",
    )
    deploy_elsewhere(rails, settings)
    with psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as owner:
        options = owner.execute(
            "SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'main_db'"
        ).fetchone()
        assert options is not None and {"sslmode=require", "application_name=mysanta+recs+1"} <= set(
            options[0]
        )
        with pytest.raises(psycopg.OperationalError, match="SSL"):  # the test cluster has no TLS
            owner.execute("SELECT count(*) FROM main.handpicked_presents")


def assert_the_reader_script_refuses(rails: Cluster, database: str, schema: list[str], message: str) -> None:
    """On a fresh database holding schema (statements run in turn), main_grants raises message and
    grants nothing."""
    fresh_rails_database(rails, database)
    with psycopg.connect(rails.superuser_url(database), autocommit=True) as conn:
        for statement in schema:
            conn.execute(statement.encode())
        main_url = elsewhere_settings(rails, database).main_database_url
        with pytest.raises(psycopg.errors.RaiseException, match=message):
            main_grants(main_url, rails.superuser_url(database))
        granted = conn.execute(
            "SELECT count(*) FROM information_schema.column_privileges WHERE grantee = 'mysanta_main_reader'"
        ).fetchone()
    assert granted == (0,)  # nothing granted


def test_the_reader_script_refuses_bigint_ids_naming_them(rails: Cluster) -> None:
    """Rails' default primary keys are bigint: the script says so, rather than the first sync
    failing with 'invalid input syntax for type uuid: "1"'."""
    bigint_schema = DEV_MAIN_SCHEMA_FILE.read_text().replace("uuid", "bigint")
    refused = r"handpicked_presents\.id is bigint"
    assert_the_reader_script_refuses(rails, "rails_bigint", [bigint_schema], refused)


def test_the_reader_script_refuses_a_money_price_naming_it(rails: Cluster) -> None:
    """Rails' PostgreSQL adapter has `t.money`: numeric in kind, but postgres_fdw reads its text,
    '$12.50', which is no number, and every sync would fail with 'invalid input syntax for type
    numeric', naming no column."""
    money_schema = [
        DEV_MAIN_SCHEMA_FILE.read_text(),
        "ALTER TABLE handpicked_presents DROP CONSTRAINT handpicked_presents_price_check",
        "ALTER TABLE handpicked_presents ALTER price TYPE money USING price::numeric::money",
    ]
    refused = r"handpicked_presents\.price is money"
    assert_the_reader_script_refuses(rails, "rails_money", money_schema, refused)


MANAGED_PROVIDER_SETUP = """
CREATE ROLE managed_admin LOGIN CREATEROLE CREATEDB PASSWORD 'managed-admin-password';
CREATE DATABASE managed_recs OWNER managed_admin;
GRANT USAGE ON SCHEMA cron TO managed_admin WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION cron.schedule_in_database(text, text, text, text, text, boolean)
    TO managed_admin WITH GRANT OPTION;
"""
MANAGED_PROVIDER_CLEANUP = """
DROP DATABASE IF EXISTS managed_recs WITH (FORCE);
DROP OWNED BY managed_admin, managed_owner, managed_app;
DROP ROLE IF EXISTS managed_app;
DROP ROLE IF EXISTS managed_owner;
DROP ROLE IF EXISTS managed_admin;
"""


def test_bootstrap_and_migrate_as_a_managed_postgresqls_admin_who_is_no_superuser(rails: Cluster) -> None:
    """RDS or Cloud SQL: the admin may create roles and databases, and the extensions the provider
    allows (here made by the superuser, with the right to grant them on), but is no superuser."""
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as su:
        su.execute("DROP ROLE IF EXISTS managed_admin")
        for statement in MANAGED_PROVIDER_SETUP.split(";\n")[:-1]:
            su.execute(statement.encode())
        try:
            with psycopg.connect(
                parse_pg_url(SUPERUSER_URL).with_dbname("managed_recs"), autocommit=True
            ) as db:
                db.execute("CREATE EXTENSION postgres_fdw")
                db.execute(
                    "GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO managed_admin WITH GRANT OPTION"
                )
            settings = make_settings(
                main_database_url=elsewhere_settings(rails).main_database_url,
                recommendations_database_url=f"postgresql://managed_app:{APP_PASSWORD}@127.0.0.1:{PG_PORT}/managed_recs",
                recommendations_owner_database_url=(
                    f"postgresql://managed_owner:{OWNER_PASSWORD}@127.0.0.1:{PG_PORT}/managed_recs"
                ),
            )
            admin = f"postgresql://managed_admin:managed-admin-password@127.0.0.1:{PG_PORT}/postgres"
            main_grants(settings.main_database_url, rails.superuser_url("rails_main"))
            bootstrap(admin, settings)
            migrate(settings, schedule=False)
            with psycopg.connect(settings.recommendations_owner_database_url) as owner:
                assert owner.execute("SELECT count(*) > 0 FROM main.handpicked_presents").fetchone() == (
                    True,
                )
        finally:
            for database in ("managed_recs", "postgres"):
                with psycopg.connect(
                    parse_pg_url(SUPERUSER_URL).with_dbname(database), autocommit=True
                ) as db:
                    if database == "postgres":
                        for statement in MANAGED_PROVIDER_CLEANUP.split(";\n")[:-1]:
                            db.execute(statement.encode())
                    else:
                        db.execute("DROP OWNED BY managed_admin, managed_owner, managed_app")


def test_the_reader_script_runs_as_the_owner_of_rails_tables_who_is_no_superuser(rails: Cluster) -> None:
    """A managed main's admin (no superuser) owning Rails' tables, beside a table of another role it
    has no right on: the script revokes only what the reader holds, so that table is no obstacle."""
    with psycopg.connect(rails.superuser_url(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS rails_owned")
        for role in ("rails_owner", "other_team"):
            conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute("CREATE ROLE rails_owner LOGIN CREATEROLE PASSWORD 'rails-owner-password'")
        conn.execute("CREATE ROLE other_team")
        conn.execute("CREATE DATABASE rails_owned OWNER rails_owner")
    with psycopg.connect(rails.superuser_url("rails_owned"), autocommit=True) as conn:
        conn.execute("SET ROLE rails_owner")
        conn.execute(DEV_MAIN_SCHEMA_FILE.read_bytes())
        conn.execute("RESET ROLE")
        conn.execute("CREATE TABLE other_team_events (id int)")
        conn.execute("ALTER TABLE other_team_events OWNER TO other_team")
        conn.execute("REVOKE ALL ON other_team_events FROM PUBLIC")
    main_url = elsewhere_settings(rails, "rails_owned").main_database_url
    main_grants(main_url, f"postgresql://rails_owner:rails-owner-password@127.0.0.1:{rails.port}/rails_owned")
    with psycopg.connect(main_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(created_at) FROM handpicked_likes").fetchone() == (0,)
