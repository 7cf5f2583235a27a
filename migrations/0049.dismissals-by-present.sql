-- Dismissals are kept by present, not by recs.items row: a present that leaves recs.items (made
-- private, or deleted) and comes back gets a new item_id, and a dismissal that went with the old
-- row (ON DELETE CASCADE) let the present the user said no to back into their pages. A dismissal
-- now outlives its present's absence and applies again when the present is public; it still goes
-- with its user (an erasure), with its undoing (DELETE /feedback) and at its expiry (cleanup job).
-- recs.dismissed_items resolves the presents to the item ids of today's recs.items.
ALTER TABLE recs.dismissals ADD COLUMN present_id uuid;
UPDATE recs.dismissals d SET present_id = i.present_id FROM recs.items i WHERE i.item_id = d.item_id;
ALTER TABLE recs.dismissals DROP CONSTRAINT dismissals_pkey;
ALTER TABLE recs.dismissals DROP COLUMN item_id;  -- with its foreign key and index
ALTER TABLE recs.dismissals ALTER COLUMN present_id SET NOT NULL;
ALTER TABLE recs.dismissals ADD PRIMARY KEY (user_key, present_id);
COMMENT ON TABLE recs.dismissals IS
    'Presents a user said they are not interested in (POST /feedback, kind dismiss), by present id: left out of their pages for dismissal_days (0: for ever), also after the present was private or gone for a while.';
