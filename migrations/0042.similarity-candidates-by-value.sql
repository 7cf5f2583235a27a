-- The neighbour search no longer leaves the most liked presents out: every present enters with
-- at most the similarity job's cap of its users, those with the largest vector values (the
-- largest terms of their cosines; ties by recs.candidate_hash), the cap being the largest whose
-- candidate rows, Σ min(users, cap) x (users - 1), stay within similarity_candidate_budget. The
-- default budget halves to 100M rows (a cap of 24 at the target scale, 97 % of each user's exact
-- 20 nearest neighbours found, against 36 % with the previous 200M and whole presents). The next
-- similarity run is a full one (its rows by present are rebuilt).

UPDATE recs.settings
SET value = CASE WHEN value = '200000000' THEN '100000000' ELSE value END,
    description = 'Most candidate rows a full similarity run scores: every present enters the neighbour search with at most N of its users (those with the largest vector values), N the largest for which the sum of min(users, N) x (users - 1) over the presents stays within this (every present still counts in the cosine norms). The run''s time grows with it.',
    updated_at = now()
WHERE key = 'similarity_candidate_budget';
UPDATE recs.settings
SET description = 'Hard limit on the users of a present that are candidates in the neighbour search, on top of similarity_candidate_budget (0: none).',
    updated_at = now()
WHERE key = 'similarity_item_degree_cap';

UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'user_similarities';

COMMENT ON TABLE recs.item_vectors IS
    'Per present, its candidates for the neighbour search (every user up to the similarity job''s cap, else that many with the largest vector values) and their vector values, aligned arrays. Working table of the similarity job (unlogged: rebuilt after a crash).';
