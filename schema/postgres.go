package schema

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql
var postgresFiles embed.FS

// Postgres returns the PostgreSQL migrations: the same versions as SQLite,
// each meaning the same change, written for PostgreSQL 15 (BIGINT identity
// keys, BYTEA chunks, TEXT JSON documents, BIGINT millisecond times). They
// are applied by the storage/postgres engine.
func Postgres() fs.FS {
	sub, err := fs.Sub(postgresFiles, "postgres")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	return sub
}
