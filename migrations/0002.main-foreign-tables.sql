-- The Rails main database through postgres_fdw: one server, the owner's user mapping, and the
-- foreign tables in schema main. These column lists are the contract with the main database
-- (README "Main database"). Host, port, dbname and the read-only credentials are set by
-- migrate from MAIN_DATABASE_URL on every run, so they are not written here.

CREATE SERVER main_db FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host 'localhost', port '5432', dbname 'main',
             use_remote_estimate 'true', fetch_size '10000', connect_timeout '3');
CREATE USER MAPPING FOR CURRENT_USER SERVER main_db;

CREATE FOREIGN TABLE main.handpicked_presents (
    id          uuid NOT NULL,
    user_id     uuid,
    price       numeric(12, 2),
    category    text,
    platform    text,
    geo_ids     integer[],
    available   boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
) SERVER main_db OPTIONS (schema_name 'public', table_name 'handpicked_presents');
COMMENT ON FOREIGN TABLE main.handpicked_presents IS
    'Rails presents (read-only). user_id IS NULL = public; any other row is private and never recommended.';

CREATE FOREIGN TABLE main.handpicked_likes (
    id                     uuid NOT NULL,
    user_id                uuid NOT NULL,
    handpicked_present_id  uuid NOT NULL,
    created_at             timestamptz NOT NULL
) SERVER main_db OPTIONS (schema_name 'public', table_name 'handpicked_likes');
COMMENT ON FOREIGN TABLE main.handpicked_likes IS 'Rails likes (read-only).';

CREATE FOREIGN TABLE main.handpicked_present_clicks (
    id                     uuid NOT NULL,
    user_id                uuid NOT NULL,
    handpicked_present_id  uuid NOT NULL,
    created_at             timestamptz NOT NULL
) SERVER main_db OPTIONS (schema_name 'public', table_name 'handpicked_present_clicks');
COMMENT ON FOREIGN TABLE main.handpicked_present_clicks IS 'Rails clicks (read-only).';
