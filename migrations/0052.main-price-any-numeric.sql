-- main.handpicked_presents.price read as any numeric. Declared numeric(12, 2), a price of 10^10 or
-- more in main (Rails' `t.decimal :price` has no precision) failed the read of every present with
-- 'numeric field overflow', naming no column, and with it every refresh job; recs.sync_presents
-- now copies such a price as NULL (unknown), as recs.items.price (numeric(12, 2)) cannot hold it,
-- and rounds the others to cents as before.
ALTER FOREIGN TABLE main.handpicked_presents ALTER COLUMN price TYPE numeric;
