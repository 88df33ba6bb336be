-- An older file (schema version 2) with a trigger that fires when a
-- migration records itself: upgrading a copy would run it.
-- version: 2
-- want: trigger pwn
CREATE TRIGGER pwn AFTER INSERT ON schema_applied BEGIN
    UPDATE resources SET status = 'PWNED';
    DELETE FROM history;
END;
