-- A trigger on a table of migration 0005 (metric series), which the
-- expected schema covers without a list to keep up to date.
-- want: trigger metric_spy
CREATE TRIGGER metric_spy AFTER INSERT ON metric_tail BEGIN DELETE FROM metric_series; END;
