-- recs.report_catalogue_coverage: available public presents, how many anybody interacted with,
-- and how many appear in some level's top 10 (recs.report_top_presents: each gender, each age
-- group, everyone).
-- Columns: available_presents, with_interactions, in_some_top_10. Errors: none.
-- Caller: analysts, DBAs.
CREATE OR REPLACE VIEW recs.report_catalogue_coverage AS
SELECT count(*) AS available_presents,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM recs.interactions x WHERE x.item_id = i.item_id))
           AS with_interactions,
       count(*) FILTER (WHERE i.present_id IN (SELECT t.present_id FROM recs.report_top_presents t))
           AS in_some_top_10
FROM recs.items i
WHERE i.available;
COMMENT ON VIEW recs.report_catalogue_coverage IS
    'Available public presents, those with any like or click, and those in the top 10 of some gender, age group or everyone.';
