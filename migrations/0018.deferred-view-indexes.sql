-- A materialized view is created populated (and empty), so its first refresh is a CONCURRENT
-- one: every row is inserted one by one through every index. For recs.popular_items at the
-- target scale that is 1.8M rows through five indexes, 44 s of a 78-86 s first refresh. On a
-- new installation (the view still empty), its serving indexes are therefore dropped here and
-- recorded in recs.deferred_indexes; recs.refresh_materialized_view builds them right after the
-- first refresh, in the same transaction (CREATE INDEX blocks writers, never readers). The
-- unique index REFRESH ... CONCURRENTLY needs stays. An installation whose view holds data keeps
-- its indexes and records nothing.

CREATE TABLE recs.deferred_indexes (
    index_name  text PRIMARY KEY,
    view_name   regclass NOT NULL,
    definition  text NOT NULL
);
COMMENT ON TABLE recs.deferred_indexes IS
    'Indexes of a still-empty materialized view, built by recs.refresh_materialized_view after its first refresh (then deleted from here).';

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM recs.popular_items) THEN
        INSERT INTO recs.deferred_indexes (index_name, view_name, definition)
        SELECT x.indexrelid::regclass::text, x.indrelid::regclass, pg_get_indexdef(x.indexrelid)
        FROM pg_index x
        WHERE x.indrelid = 'recs.popular_items'::regclass AND NOT x.indisunique;
        IF EXISTS (SELECT 1 FROM recs.deferred_indexes) THEN
            EXECUTE (SELECT 'DROP INDEX ' || string_agg(d.index_name, ', ') FROM recs.deferred_indexes d);
        END IF;
    END IF;
END;
$$;
