package schema

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/metatrack/metatrack/storage"
)

// Object is one entry of a database's sqlite_master: a table, index, view
// or trigger, with its SQL (whitespace collapsed).
type Object struct {
	Type, Name, Table, SQL string
}

// Difference is one way a file's schema differs from the one its version
// defines: Object names it ("view tags", "trigger evil", "index
// tags_key_value"), Detail says how.
type Difference struct {
	Object string
	Detail string
}

// String returns the difference as object: detail.
func (d Difference) String() string { return d.Object + ": " + d.Detail }

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Objects reads the schema objects of the database behind q. The tables
// SQLite keeps for the query planner (sqlite_stat1 to sqlite_stat4, which
// ANALYZE and PRAGMA optimize create) are left out.
func Objects(ctx context.Context, q queryer) (map[string]Object, error) {
	rows, err := q.QueryContext(ctx, `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Object{}
	for rows.Next() {
		var o Object
		if err := rows.Scan(&o.Type, &o.Name, &o.Table, &o.SQL); err != nil {
			return nil, err
		}
		if o.Type == "table" && strings.HasPrefix(o.Name, "sqlite_stat") {
			continue
		}
		o.SQL = strings.Join(strings.Fields(o.SQL), " ")
		// Names are case-insensitive in SQLite: TAGS and tags collide.
		out[strings.ToLower(o.Name)] = o
	}
	return out, rows.Err()
}

var expected struct {
	mu       sync.Mutex
	versions map[uint]map[string]Object
}

// Expected returns the schema objects that a file of version v holds: the
// embedded migrations up to v applied to a fresh in-memory database. It
// is computed once per version, so migrations added later are covered
// without a list to keep up to date.
func Expected(ctx context.Context, v uint) (map[string]Object, error) {
	expected.mu.Lock()
	defer expected.mu.Unlock()
	if objs, ok := expected.versions[v]; ok {
		return objs, nil
	}
	objs, err := build(ctx, SQLite(), v)
	if err != nil {
		return nil, err
	}
	if expected.versions == nil {
		expected.versions = map[uint]map[string]Object{}
	}
	expected.versions[v] = objs
	return objs, nil
}

// MigrateTo brings the database behind db to version v of the embedded
// SQLite migrations (not beyond; version 0 creates golang-migrate's
// bookkeeping only). Tests use it to make files of older versions.
func MigrateTo(ctx context.Context, db *sql.DB, v uint) error {
	return migrateTo(ctx, db, SQLite(), v, false)
}

func build(ctx context.Context, fsys fs.FS, v uint) (map[string]Object, error) {
	mem, err := sql.Open("sqlite", "file:expected?mode=memory")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	mem.SetMaxOpenConns(1) // one connection: one in-memory database
	if err := migrateTo(ctx, mem, fsys, v, false); err != nil {
		return nil, fmt.Errorf("schema: expected schema of version %d: %w", v, err)
	}
	return Objects(ctx, mem)
}

// ErrUnexpected is matched by the error of Check: the file holds views,
// triggers, tables, columns or indexes that the migrations of its version
// do not create, or lacks some they do.
var ErrUnexpected = storage.ErrUnexpectedSchema

// Compare returns how the schema of the database behind q differs from
// the one version v defines: objects missing, objects of another type or
// definition, and objects the migrations do not create (a view, a
// trigger, an extra table or index), those present first, each sorted by
// name.
func Compare(ctx context.Context, q queryer, v uint) ([]Difference, error) {
	want, err := Expected(ctx, v)
	if err != nil {
		return nil, err
	}
	got, err := Objects(ctx, q)
	if err != nil {
		return nil, err
	}
	var diffs, missing []Difference
	for name, g := range got {
		w, ok := want[name]
		switch {
		case !ok:
			diffs = append(diffs, Difference{g.Type + " " + g.Name, fmt.Sprintf("is not part of schema version %d (%s)", v, clip(g.SQL))})
		case g.Type != w.Type:
			diffs = append(diffs, Difference{g.Type + " " + g.Name, fmt.Sprintf("is a %s; schema version %d defines a %s", g.Type, v, w.Type)})
		case g.Table != w.Table || g.SQL != w.SQL:
			diffs = append(diffs, Difference{g.Type + " " + g.Name, fmt.Sprintf("is defined as %s; schema version %d defines %s", clip(g.SQL), v, clip(w.SQL))})
		}
	}
	for name, w := range want {
		if _, ok := got[name]; !ok {
			missing = append(missing, Difference{w.Type + " " + w.Name, fmt.Sprintf("is missing (schema version %d defines it)", v)})
		}
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].Object < diffs[j].Object })
	sort.Slice(missing, func(i, j int) bool { return missing[i].Object < missing[j].Object })
	return append(diffs, missing...), nil
}

// clip shortens SQL for a message.
func clip(s string) string {
	if s == "" {
		return "no SQL"
	}
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// ExpectedVersion returns the version whose schema the database behind q
// should hold according to its bookkeeping: golang-migrate's version, or
// for a migration a crash left dirty, the version before it unless
// schema_applied records it (as Migrate repairs it).
func ExpectedVersion(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, st State) (uint, error) {
	if !st.Dirty {
		return st.Version, nil
	}
	var applied int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_applied'`).Scan(&applied)
	if err != nil {
		return 0, err
	}
	if applied == 1 {
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM schema_applied WHERE version = ?`, st.Version).Scan(&applied); err != nil {
			return 0, err
		}
	}
	if applied == 1 {
		return st.Version, nil
	}
	return previousVersion(st.Version)
}

// Check refuses a database whose schema is not exactly the one its
// bookkeeping's version defines (see Compare), naming the first object
// that differs. Nothing in the file is run: sqlite_master is read as data.
// A new (empty) database passes.
func Check(ctx context.Context, q interface {
	queryer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) error {
	st, err := Inspect(ctx, q)
	if err != nil || st.Empty || st.Foreign {
		return err
	}
	v, err := ExpectedVersion(ctx, q, st)
	if err != nil {
		return err
	}
	if latest, err := Latest(SQLite()); err != nil || v > latest {
		return err // a newer schema is refused elsewhere, as ErrSchemaTooNew
	}
	diffs, err := Compare(ctx, q, v)
	if err != nil {
		return err
	}
	if len(diffs) > 0 {
		more := ""
		if len(diffs) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(diffs)-1)
		}
		return fmt.Errorf("%w: %s%s", ErrUnexpected, diffs[0], more)
	}
	return nil
}
