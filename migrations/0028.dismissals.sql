-- Dismissals ("not interested"): POST /feedback with kind "dismiss" stores one row per user and
-- present (api.dismiss_present); api.personalized and api.similar leave the present out of that
-- user's pages while the dismissal lasts (the dismissal_days setting; 0: for ever); DELETE
-- /feedback removes it (api.undismiss_present). A dismissal goes with its user (an erasure removes
-- recs.users' row) and with its present (a present gone from main, or made private, leaves
-- recs.items); the cleanup job deletes expired ones.
CREATE TABLE recs.dismissals (
    user_key      integer NOT NULL REFERENCES recs.users ON DELETE CASCADE,
    item_id       integer NOT NULL REFERENCES recs.items ON DELETE CASCADE,
    dismissed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_key, item_id)
);
COMMENT ON TABLE recs.dismissals IS
    'Presents a user said they are not interested in (POST /feedback, kind dismiss): left out of their pages for dismissal_days (0: for ever).';
-- The cascade from recs.items looks rows up by present.
CREATE INDEX dismissals_item_id_idx ON recs.dismissals (item_id);

INSERT INTO recs.settings (key, value, description, value_type, min_value, max_value) VALUES
    ('dismissal_days', '0',
     'Days a dismissal (POST /feedback, kind dismiss) keeps a present out of the user''s pages; 0: for ever. Expired ones are deleted by the cleanup job.',
     'integer', 0, 36500);
