-- recs.age_group_is_derived: whether a stored age group is the one its birth date gave on the day
-- it was stored (then it moves with the user's age), not one sent explicitly against it.
-- Arguments: p_age_group, p_birth_date, p_stored_on (the row's updated_at day).
-- Result: true or false; NULL without a group or a birth date. Errors: none.
-- Caller: recs.job_cleanup (moves such groups), api.patch_user_demographics (derives them again).
CREATE OR REPLACE FUNCTION recs.age_group_is_derived(p_age_group text, p_birth_date date, p_stored_on date)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_age_group = recs.age_group_of(p_birth_date, p_stored_on);
$$;
COMMENT ON FUNCTION recs.age_group_is_derived(text, date, date) IS
    'Whether a stored age group is the one its birth date gave on the day it was stored (it then moves with age).';
