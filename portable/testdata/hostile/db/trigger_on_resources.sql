-- A trigger on a table that import writes into.
-- want: trigger spy
CREATE TRIGGER spy AFTER UPDATE ON resources BEGIN UPDATE resources SET status = 'PWNED'; END;
