package postgres

import "testing"

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b IN (?, ?)", "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"},
		{"SELECT '?' , ? FROM t", "SELECT '?' , $1 FROM t"},
		{"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{`SELECT "odd?col", ?`, `SELECT "odd?col", $1`},
		{"SELECT E'\\' ?', ?", "SELECT E'\\' ?', $1"},
		{"SELECT ? -- what?\n, ?", "SELECT $1 -- what?\n, $2"},
		{"SELECT /* ? */ ?", "SELECT /* ? */ $1"},
		{"SELECT $$a?b$$, $tag$ ? $tag$, ?", "SELECT $$a?b$$, $tag$ ? $tag$, $1"},
		{"SELECT $1", "SELECT $1"},
		{"SELECT ?1, ?2 WHERE x IN (?1) AND y = ?12", "SELECT $1, $2 WHERE x IN ($1) AND y = $12"},
		{"SELECT 'open ?", "SELECT 'open ?"},
	} {
		if got := Rebind(c.in); got != c.want {
			t.Errorf("Rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	loc, err := ParseURL("postgresql://alice:s3cret@db.example:5433/meta?schema=team_a&sslmode=require&password=p2")
	if err != nil {
		t.Fatal(err)
	}
	if loc.Schema != "team_a" {
		t.Errorf("Schema = %q", loc.Schema)
	}
	if want := "postgresql://alice@db.example:5433/meta?schema=team_a&sslmode=require"; loc.Redacted != want {
		t.Errorf("Redacted = %q, want %q", loc.Redacted, want)
	}
	if want := "postgresql://alice:s3cret@db.example:5433/meta?password=p2&sslmode=require"; loc.ConnString != want {
		t.Errorf("ConnString = %q, want %q", loc.ConnString, want)
	}
	loc, err = ParseURL("postgres://h/db")
	if err != nil || loc.Schema != DefaultSchema || loc.Redacted != "postgres://h/db" {
		t.Errorf("default: %+v, %v", loc, err)
	}
}
