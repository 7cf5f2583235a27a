-- The user similarity weighs each present by its inverse user frequency (similarity_iuf on):
-- two users who share a rarely taken present are more alike than two who share a present
-- everyone took. Measured on the validation splits with the item neighbours and learned weights
-- in the blend, it is level or ahead on every dataset (docs/quality.md, "Inverse user frequency
-- in the user similarity"). The item neighbours and learned weights do not read it.
-- The value moves from false to true whoever set it (an operator's false cannot be told from the
-- former default; recs.set_setting sets it again). The next similarity run is a full one
-- (recs.similarity_is_full compares the setting with the last run's).
UPDATE recs.settings
SET value = CASE WHEN value = 'false' THEN 'true' ELSE value END,
    description = 'Weight each present by its inverse user frequency, ln((1 + users) / (1 + its users)), in the user similarity (true) or weigh presents evenly (false). A change makes the next similarity run a full one.',
    updated_at = now()
WHERE key = 'similarity_iuf';
