-- Filters everywhere: api.popular takes exclude, and api.popular, api.personalized and api.similar
-- take categories (any of) and exclude_categories beside category, match categories and platforms
-- case-insensitively and return warnings for values that match no available present
-- (recs.resolve_filters); recs.content_profile takes the resolved category list. The functions
-- with the old argument lists are dropped here; sql/ creates the new ones.
DROP FUNCTION IF EXISTS api.popular(text, text, text, integer, numeric, numeric, text, text, integer, integer);
DROP FUNCTION IF EXISTS api.personalized(uuid, integer, numeric, numeric, text, text, integer, integer, uuid[], boolean);
DROP FUNCTION IF EXISTS api.similar(uuid, uuid, integer, numeric, numeric, text, text, integer, integer, uuid[], boolean);
DROP FUNCTION IF EXISTS recs.content_profile(integer, integer[], text, numeric, numeric);
