-- The foreign tables declare NOT NULL only where main's schema must guarantee it (the ids of the
-- rows and of the presents liked or clicked). A real Rails schema may leave a guest's click
-- without a user (belongs_to optional), available without null: false, and timestamps nullable
-- (Rails before 5): recs.sync_read_events leaves the events without a user out, and
-- recs.sync_presents reads the others as unavailable and the other timestamp, with filters a
-- planner may not drop for a column declared NOT NULL here.
ALTER FOREIGN TABLE main.handpicked_likes ALTER COLUMN user_id DROP NOT NULL;
ALTER FOREIGN TABLE main.handpicked_present_clicks ALTER COLUMN user_id DROP NOT NULL;
ALTER FOREIGN TABLE main.handpicked_presents
    ALTER COLUMN available DROP NOT NULL,
    ALTER COLUMN created_at DROP NOT NULL,
    ALTER COLUMN updated_at DROP NOT NULL;
