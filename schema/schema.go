// Package schema holds metatrack's database schema as embedded golang-migrate
// migrations, one folder per SQL dialect, and applies them.
//
// Files are named {version}_{title}.up.sql and .down.sql. Every up migration
// ends by inserting its version into schema_applied inside its own
// transaction; that row is how Migrate repairs a migration that a crash left
// "dirty" in golang-migrate's bookkeeping: if the row is there the migration
// committed and only the bookkeeping is stale, if not nothing of it committed
// and it runs again.
package schema

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

//go:embed sqlite/*.sql
var sqliteFiles embed.FS

// MigrationsTable is golang-migrate's bookkeeping table.
const MigrationsTable = "schema_migrations"

// SQLite returns the SQLite migrations.
func SQLite() fs.FS {
	sub, err := fs.Sub(sqliteFiles, "sqlite")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	return sub
}

// Latest returns the highest migration version in fsys.
func Latest(fsys fs.FS) (uint, error) {
	versions, err := Versions(fsys)
	if err != nil {
		return 0, err
	}
	if len(versions) == 0 {
		return 0, errors.New("schema: no migrations")
	}
	return versions[len(versions)-1], nil
}

// Versions returns the up-migration versions in fsys in ascending order.
func Versions(fsys fs.FS) ([]uint, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var versions []uint
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("schema: migration %q has no version prefix", name)
		}
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("schema: migration %q: %w", name, err)
		}
		versions = append(versions, uint(v))
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	return versions, nil
}

// State is what a database file says about its schema.
type State struct {
	// Empty is true when the file has no tables at all (a new database).
	Empty bool
	// Foreign is true when the file has tables but no metatrack bookkeeping:
	// a SQLite database of another application.
	Foreign bool
	// Version is golang-migrate's recorded version (0 when none).
	Version uint
	// Dirty is golang-migrate's dirty flag.
	Dirty bool
}

// Inspect reads the schema state of the database behind q without writing.
func Inspect(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (State, error) {
	var tables, bookkeeping int
	err := q.QueryRowContext(ctx,
		`SELECT count(*), coalesce(sum(name = ?), 0) FROM sqlite_master WHERE type = 'table'`,
		MigrationsTable).Scan(&tables, &bookkeeping)
	if err != nil {
		return State{}, err
	}
	if tables == 0 {
		return State{Empty: true}, nil
	}
	if bookkeeping == 0 {
		return State{Foreign: true}, nil
	}
	var st State
	var version sql.NullInt64
	var dirty sql.NullBool
	err = q.QueryRowContext(ctx, `SELECT version, dirty FROM `+MigrationsTable+` LIMIT 1`).Scan(&version, &dirty)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return st, nil
	case err != nil:
		return State{}, err
	}
	st.Version, st.Dirty = uint(version.Int64), dirty.Bool
	return st, nil
}

// Migrate brings the SQLite database behind db to the latest version of
// fsys. It is not safe against other processes migrating the same file at
// the same time: the caller holds a cross-process lock around it (see the db
// package). A dirty state left by a crash is repaired first (see the package
// comment). Migrate honours ctx between migrations.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	if err := repairDirty(ctx, db); err != nil {
		return fmt.Errorf("schema: repair: %w", err)
	}
	return migrateTo(ctx, db, fsys, 0, true)
}

// migrateTo applies the migrations of fsys up to version v, or all of them.
// Version 0 creates golang-migrate's bookkeeping only.
func migrateTo(ctx context.Context, db *sql.DB, fsys fs.FS, v uint, all bool) error {
	src, err := iofs.New(fsys, ".")
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	drv, err := sqlite.WithInstance(db, &sqlite.Config{MigrationsTable: MigrationsTable})
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	// The driver would close db; it belongs to the caller, so m is not closed.
	m, err := migrate.NewWithInstance("iofs", src, "sqlite", drv)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		switch {
		case all:
			done <- m.Up()
		case v == 0:
			done <- nil
		default:
			done <- m.Migrate(v)
		}
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		m.GracefulStop <- true
		<-done
		return ctx.Err()
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("schema: migrate: %w", err)
	}
	return nil
}

// repairDirty resolves golang-migrate's dirty flag using schema_applied.
func repairDirty(ctx context.Context, db *sql.DB) error {
	st, err := Inspect(ctx, db)
	if err != nil || !st.Dirty {
		return err
	}
	var applied int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_applied'`).Scan(&applied)
	if err != nil {
		return err
	}
	if applied == 1 {
		err = db.QueryRowContext(ctx, `SELECT count(*) FROM schema_applied WHERE version = ?`, st.Version).Scan(&applied)
		if err != nil {
			return err
		}
	}
	// The migration committed (applied == 1): mark it clean. It did not: go
	// back to the version before it, so that Up runs it again.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+MigrationsTable); err != nil {
		return err
	}
	if applied == 1 {
		_, err = tx.ExecContext(ctx, `INSERT INTO `+MigrationsTable+` (version, dirty) VALUES (?, 0)`, st.Version)
	} else if prev, perr := previousVersion(st.Version); perr != nil {
		return perr
	} else if prev > 0 {
		_, err = tx.ExecContext(ctx, `INSERT INTO `+MigrationsTable+` (version, dirty) VALUES (?, 0)`, prev)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

func previousVersion(v uint) (uint, error) {
	versions, err := Versions(SQLite())
	if err != nil {
		return 0, err
	}
	var prev uint
	for _, x := range versions {
		if x >= v {
			break
		}
		prev = x
	}
	return prev, nil
}
