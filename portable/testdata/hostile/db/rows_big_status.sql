-- A status of 1,000 bytes.
-- want: the limit is 64
UPDATE resources SET status = printf('%.1000c', 'x') WHERE type = 'model';
