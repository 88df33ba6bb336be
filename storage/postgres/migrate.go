package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage"
)

// MigrationsTable is golang-migrate's bookkeeping table, in the store's
// schema.
const MigrationsTable = schema.MigrationsTable

// state is what a PostgreSQL schema says about the store in it.
type state struct {
	exists   bool     // the schema exists
	tables   []string // its tables and views, sorted
	migrated bool     // it has golang-migrate's bookkeeping table
	version  uint     // golang-migrate's version (0 when none)
	dirty    bool
	applied  map[uint]bool // versions in schema_applied
}

// prepare checks the store's schema and, unless the engine is read-only,
// creates and migrates it. Writers of the store wait meanwhile: the
// migration holds the store's advisory lock for its session, the one write
// transactions take, so 8 processes opening a new store at once run its
// migrations one after another (each later one finds nothing to do) and
// never see a migration half done.
func (e *Engine) prepare(ctx context.Context, cfg *pgx.ConnConfig) (err error) {
	conn, err := e.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var database string
	if err := conn.GetContext(ctx, &database, `SELECT current_database()`); err != nil {
		return err
	}
	e.lockKey = lockKeyOf(database, e.loc.Schema)
	latest, err := schema.Latest(schema.Postgres())
	if err != nil {
		return err
	}
	if e.opts.ReadOnly {
		st, err := inspect(ctx, conn, e.loc.Schema)
		if err != nil {
			return err
		}
		v, err := e.check(st, latest)
		if err != nil {
			return err
		}
		if !st.migrated {
			return fmt.Errorf("%w: %w: %s holds no metatrack store yet (schema %s is missing or empty); open it once without read-only to create it",
				storage.ErrSchemaTooOld, storage.ErrReadOnly, e.loc.Redacted, e.loc.Schema)
		}
		if v < latest {
			return fmt.Errorf("%w: %w: %s has schema version %d, this library writes %d; open it once without read-only to upgrade it",
				storage.ErrSchemaTooOld, storage.ErrReadOnly, e.loc.Redacted, v, latest)
		}
		return nil
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, e.lockKey); err != nil {
		return err
	}
	defer func() {
		// A connection that failed loses its session lock with it.
		if _, uerr := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, e.lockKey); uerr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	st, err := inspect(ctx, conn, e.loc.Schema)
	if err != nil {
		return err
	}
	v, err := e.check(st, latest)
	if err != nil {
		return err
	}
	if !st.exists {
		// Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE
		// privilege on the database even when the schema is there.
		if _, err := conn.ExecContext(ctx, `CREATE SCHEMA `+quoteIdent(e.loc.Schema)); err != nil {
			return fmt.Errorf("postgres: creating schema %s: %w", e.loc.Schema, err)
		}
	}
	if st.dirty {
		if err := repair(ctx, conn, st, v); err != nil {
			return fmt.Errorf("postgres: repairing the migration of version %d a crash interrupted: %w", st.version, err)
		}
	}
	if st.migrated && v == latest {
		return nil
	}
	return runMigrations(ctx, cfg, e.loc.Schema)
}

// check refuses a schema that is not a metatrack store or that a newer
// metatrack wrote, and returns the version whose tables it holds.
func (e *Engine) check(st state, latest uint) (uint, error) {
	if !st.migrated {
		if len(st.tables) > 0 {
			return 0, fmt.Errorf("%w: %w: schema %s of %s holds tables that metatrack did not create (%s) and no metatrack bookkeeping; name another schema with ?schema=NAME",
				storage.ErrNotDatabase, storage.ErrUnexpectedSchema, e.loc.Schema, e.loc.Redacted, list(st.tables))
		}
		return 0, nil
	}
	v := st.version
	if st.dirty && !st.applied[v] {
		v = previous(v)
	}
	if st.version > latest {
		return 0, fmt.Errorf("%w: %s has schema version %d; this library knows versions up to %d: use a newer metatrack",
			storage.ErrSchemaTooNew, e.loc.Redacted, st.version, latest)
	}
	want := tablesUpTo(v)
	var unknown, missing []string
	have := map[string]bool{}
	for _, t := range st.tables {
		have[t] = true
		if !want[t] {
			unknown = append(unknown, t)
		}
	}
	for t := range want {
		if !have[t] {
			missing = append(missing, t)
		}
	}
	sort.Strings(missing)
	switch {
	case len(unknown) > 0:
		return 0, fmt.Errorf("%w: schema %s of %s holds tables or views that schema version %d does not define: %s",
			storage.ErrUnexpectedSchema, e.loc.Schema, e.loc.Redacted, v, list(unknown))
	case len(missing) > 0:
		return 0, fmt.Errorf("%w: schema %s of %s lacks tables that schema version %d defines: %s",
			storage.ErrUnexpectedSchema, e.loc.Schema, e.loc.Redacted, v, list(missing))
	}
	return v, nil
}

// list names up to five names.
func list(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// inspect reads the state of a schema without writing.
func inspect(ctx context.Context, conn *sqlx.Conn, name string) (state, error) {
	var st state
	if err := conn.GetContext(ctx, &st.exists, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, name); err != nil {
		return st, err
	}
	if !st.exists {
		return st, nil
	}
	err := conn.SelectContext(ctx, &st.tables, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname`, name)
	if err != nil {
		return st, err
	}
	for _, t := range st.tables {
		st.migrated = st.migrated || t == MigrationsTable
	}
	if !st.migrated {
		return st, nil
	}
	var rows []struct {
		Version int64 `db:"version"`
		Dirty   bool  `db:"dirty"`
	}
	if err := conn.SelectContext(ctx, &rows, `SELECT version, dirty FROM `+quoteIdent(name)+`.`+MigrationsTable+` LIMIT 1`); err != nil {
		return st, err
	}
	if len(rows) == 1 && rows[0].Version > 0 {
		st.version, st.dirty = uint(rows[0].Version), rows[0].Dirty
	}
	st.applied = map[uint]bool{}
	for _, t := range st.tables {
		if t != "schema_applied" {
			continue
		}
		var vs []int64
		if err := conn.SelectContext(ctx, &vs, `SELECT version FROM `+quoteIdent(name)+`.schema_applied`); err != nil {
			return st, err
		}
		for _, v := range vs {
			st.applied[uint(v)] = true
		}
	}
	return st, nil
}

// repair resolves golang-migrate's dirty flag with schema_applied: the
// migration committed (its row is there) and only the bookkeeping is
// stale, or nothing of it committed and it runs again. A PostgreSQL
// migration runs in one transaction, so there is no third case.
func repair(ctx context.Context, conn *sqlx.Conn, st state, v uint) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+MigrationsTable); err != nil {
		return err
	}
	if v > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+MigrationsTable+` (version, dirty) VALUES ($1, false)`, int64(v)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// previous returns the migration version before v (0 when none).
func previous(v uint) uint {
	versions, _ := schema.Versions(schema.Postgres())
	var prev uint
	for _, x := range versions {
		if x >= v {
			break
		}
		prev = x
	}
	return prev
}

var createTable = regexp.MustCompile(`(?im)^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)`)

// tablesUpTo returns the tables that the migrations up to version v create,
// with golang-migrate's bookkeeping.
func tablesUpTo(v uint) map[string]bool {
	fsys := schema.Postgres()
	out := map[string]bool{MigrationsTable: true}
	entries, _ := fs.ReadDir(fsys, ".")
	for _, ent := range entries {
		name := ent.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		var n uint
		if _, err := fmt.Sscanf(name, "%d_", &n); err != nil || n > v {
			continue
		}
		text, _ := fs.ReadFile(fsys, name)
		for _, m := range createTable.FindAllStringSubmatch(string(text), -1) {
			out[strings.ToLower(m[1])] = true
		}
	}
	return out
}

// runMigrations applies the embedded PostgreSQL migrations through
// golang-migrate's pgx/v5 driver, on connections of their own (the driver
// closes its database when done). golang-migrate takes an advisory lock of
// its own as well. Migrate takes no context: a cancelled ctx stops it
// between migrations.
func runMigrations(ctx context.Context, cfg *pgx.ConnConfig, schemaName string) error {
	mdb := stdlib.OpenDB(*cfg)
	mdb.SetMaxOpenConns(2)
	src, err := iofs.New(schema.Postgres(), ".")
	if err != nil {
		mdb.Close()
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	drv, err := pgxmigrate.WithInstance(mdb, &pgxmigrate.Config{MigrationsTable: MigrationsTable, SchemaName: schemaName})
	if err != nil {
		mdb.Close()
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		drv.Close()
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	defer m.Close()
	done := make(chan error, 1)
	go func() { done <- m.Up() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		m.GracefulStop <- true
		<-done
		return ctx.Err()
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}
