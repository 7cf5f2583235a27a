-- The sha256 of every applied migration file, recorded by migrate when it applies the migration
-- (and, for migrations applied before this table existed, by the first migrate run that finds
-- them unrecorded). migrate refuses to run, naming the file, when an applied migration no longer
-- matches its recorded sum: applied migrations are frozen, a change is a new migration.
CREATE TABLE recs.applied_migrations (
    migration    text PRIMARY KEY,
    sha256       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE recs.applied_migrations IS
    'sha256 of each applied migration file (migrate refuses to run when an applied file changed).';
