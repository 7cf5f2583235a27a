-- The main (Rails-owned) database schema as this service expects it.
-- Purpose: development, tests and benchmarks create it; in production Rails owns it and the
--          service only reads it, through postgres_fdw, as a read-only role.
-- The columns the service relies on are exactly those of the foreign tables declared in
-- migrations/0002.main-foreign-tables.sql; docs/operations.md, "Main database (Rails-owned, read-only)", maps them one by one.
-- Idempotent: safe to run on a database that already has the tables.

CREATE TABLE IF NOT EXISTS users (
    id          uuid PRIMARY KEY,
    gender      text CHECK (gender IN ('m', 'f')),
    birth_date  date,
    locale      text,
    geo_id      integer,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS
    'Rails users. The service reads only id (which users still exist, for its retention job); demographics arrive by PUT /user-profile, and the demo loader syncs them from here.';

CREATE TABLE IF NOT EXISTS handpicked_presents (
    id          uuid PRIMARY KEY,
    user_id     uuid,
    title       text NOT NULL,
    price       numeric(12, 2) CHECK (price >= 0),
    category    text,
    platform    text,
    geo_ids     integer[],
    available   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE handpicked_presents IS
    'Gift items. user_id IS NULL: public, recommendable. user_id set: a private present of that user, never shown to anyone else.';
COMMENT ON COLUMN handpicked_presents.geo_ids IS 'Regions the present can be delivered to; NULL = everywhere.';
COMMENT ON COLUMN handpicked_presents.available IS 'false = hidden or out of stock: never recommended.';
CREATE INDEX IF NOT EXISTS handpicked_presents_public_idx
    ON handpicked_presents (updated_at) WHERE user_id IS NULL;

CREATE TABLE IF NOT EXISTS handpicked_likes (
    id                     uuid PRIMARY KEY,
    user_id                uuid NOT NULL,
    handpicked_present_id  uuid NOT NULL REFERENCES handpicked_presents (id) ON DELETE CASCADE,
    created_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, handpicked_present_id)
);
COMMENT ON TABLE handpicked_likes IS 'A user likes a present (at most once per pair).';
CREATE INDEX IF NOT EXISTS handpicked_likes_created_at_idx ON handpicked_likes (created_at);
CREATE INDEX IF NOT EXISTS handpicked_likes_present_idx ON handpicked_likes (handpicked_present_id);

CREATE TABLE IF NOT EXISTS handpicked_present_clicks (
    id                     uuid PRIMARY KEY,
    user_id                uuid NOT NULL,
    handpicked_present_id  uuid NOT NULL REFERENCES handpicked_presents (id) ON DELETE CASCADE,
    created_at             timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE handpicked_present_clicks IS 'A user opened a present (one row per click; repeats allowed).';
CREATE INDEX IF NOT EXISTS handpicked_present_clicks_created_at_idx ON handpicked_present_clicks (created_at);
CREATE INDEX IF NOT EXISTS handpicked_present_clicks_user_idx ON handpicked_present_clicks (user_id);
CREATE INDEX IF NOT EXISTS handpicked_present_clicks_present_idx ON handpicked_present_clicks (handpicked_present_id);
