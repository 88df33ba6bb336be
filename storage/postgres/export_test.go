package postgres

import (
	"context"
	"errors"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/metatrack/metatrack/schema"
)

// MigrateTo brings the public schema of the database at rawURL to version
// v of the embedded migrations, up or down (0: none applied), for tests of
// the migrations themselves.
func MigrateTo(ctx context.Context, rawURL string, v uint) error {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(loc.ConnString)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["search_path"] = quoteIdent(loc.Schema)
	db := stdlib.OpenDB(*cfg)
	src, err := iofs.New(schema.Postgres(), ".")
	if err != nil {
		return err
	}
	drv, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{MigrationsTable: MigrationsTable, SchemaName: loc.Schema})
	if err != nil {
		return err
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return err
	}
	defer m.Close()
	if v == 0 {
		err = m.Down()
	} else {
		err = m.Migrate(v)
	}
	if errors.Is(err, migrate.ErrNoChange) {
		return nil
	}
	return err
}
