-- The number of users with demographics, kept by the writers: GET /stats read it with a count(*)
-- of recs.user_demographics on every call (about 70 ms at 300k users); it reads this row now, at
-- the same cost whatever the number of users. Statement-level triggers add the rows each INSERT
-- stored (an upsert that updates an existing user adds nothing: its insert transition table is
-- empty) and subtract the rows each DELETE removed (an erasure, or the cascade from recs.users);
-- a TRUNCATE sets it to 0. Counted once here, under a lock that keeps writers out until the
-- triggers exist.
CREATE TABLE recs.row_counts (
    relation  text PRIMARY KEY,
    rows      bigint NOT NULL CHECK (rows >= 0)
);
COMMENT ON TABLE recs.row_counts IS
    'Exact row counts kept by statement-level triggers on the counted table (recs.user_demographics), read by api.stats instead of a count(*).';

LOCK TABLE recs.user_demographics IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO recs.row_counts (relation, rows)
SELECT 'user_demographics', count(*) FROM recs.user_demographics;

-- recs.count_rows_changed: adds the rows of the statement's transition table (new rows of an
-- INSERT, old rows of a DELETE, negated) to recs.row_counts under TG_ARGV[0]; a TRUNCATE sets 0.
-- Arguments: TG_ARGV[0] the counted relation's name in recs.row_counts. Result: none.
-- Errors: none. Caller: the user_demographics_count_* triggers.
CREATE FUNCTION recs.count_rows_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_changed bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE recs.row_counts c SET rows = 0 WHERE c.relation = TG_ARGV[0];
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO v_changed FROM changed_rows;
    ELSE
        SELECT -count(*) INTO v_changed FROM changed_rows;
    END IF;
    IF v_changed <> 0 THEN  -- an upsert of known users, nearly every PUT, does not touch the row
        UPDATE recs.row_counts c SET rows = c.rows + v_changed WHERE c.relation = TG_ARGV[0];
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION recs.count_rows_changed() IS
    'Statement trigger: keeps recs.row_counts[TG_ARGV[0]] equal to the rows of the table (inserted minus deleted; 0 after a TRUNCATE).';

CREATE TRIGGER user_demographics_count_inserted AFTER INSERT ON recs.user_demographics
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION recs.count_rows_changed('user_demographics');
CREATE TRIGGER user_demographics_count_deleted AFTER DELETE ON recs.user_demographics
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION recs.count_rows_changed('user_demographics');
CREATE TRIGGER user_demographics_count_truncated AFTER TRUNCATE ON recs.user_demographics
    FOR EACH STATEMENT EXECUTE FUNCTION recs.count_rows_changed('user_demographics');
