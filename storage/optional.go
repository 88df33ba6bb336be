package storage

import "context"

// Operations that only some engines offer. The domain asks an Engine for
// one with a type check and, when the engine lacks it, fails with an error
// that wraps ErrUnsupported and names the engine.

// Verifier checks a store: its schema, the engine's own integrity checks,
// every stored JSON value and artifact byte, and the domain's invariants
// (chains, deployments, aliases). Problems go in the Report; the error is
// for failures to check.
type Verifier interface {
	Verify(ctx context.Context, progress func(done, total int64)) (Report, error)
}

// Collector removes the artifact bytes no record refers to and compacts
// metric blocks.
type Collector interface {
	GC(ctx context.Context, opts GCOptions) (GCStats, error)
}

// Vacuumer gives the room of deleted rows back to the file system.
type Vacuumer interface {
	Vacuum(ctx context.Context) error
}

// Backuper writes a consistent copy of the live store to a new SQLite file
// at path, which must not exist; writers go on meanwhile.
type Backuper interface {
	Backup(ctx context.Context, path string) error
}

// Checkpointer is asked, after a large transaction, to copy its
// write-ahead log into the store soon. RequestCheckpoint never blocks.
type Checkpointer interface {
	RequestCheckpoint()
}

// SpaceChecker reports the bytes free on the disk that holds the store,
// and false when it cannot tell; large writes check it before they start.
type SpaceChecker interface {
	FreeSpace() (int64, bool)
}

// Sizer reports the bytes the store takes on disk (for SQLite, the file
// and its write-ahead log).
type Sizer interface {
	Bytes(ctx context.Context) (int64, error)
}
