-- transactional: false
-- The stored demographics are checked by the same functions that check the API's arguments
-- (sql/00_domain: recs.gender_of, recs.check_age_group), so the genders and age groups are
-- defined once; an invalid value raises their error, which names the column. The constraints
-- are added NOT VALID (a brief lock, no scan) and then validated, which reads every row without
-- blocking the readers and writers of recs.user_demographics. Each statement commits on its own
-- and the first can run again, so a run stopped halfway is finished by the next migrate.
ALTER TABLE recs.user_demographics
    DROP CONSTRAINT IF EXISTS user_demographics_gender_check,
    DROP CONSTRAINT IF EXISTS user_demographics_age_group_check,
    ADD CONSTRAINT user_demographics_gender_check CHECK (recs.gender_of(gender, 'gender') = gender) NOT VALID,
    ADD CONSTRAINT user_demographics_age_group_check
        CHECK (recs.check_age_group(age_group, 'age_group') = age_group) NOT VALID;
ALTER TABLE recs.user_demographics VALIDATE CONSTRAINT user_demographics_gender_check;
ALTER TABLE recs.user_demographics VALIDATE CONSTRAINT user_demographics_age_group_check;
