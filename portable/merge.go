package portable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// ErrSameDatabase: Merge was given the database it merges into.
var ErrSameDatabase = errors.New("cannot merge a database into itself")

// MergeOptions configure Merge.
type MergeOptions struct {
	// Progress, if set, is called after each record with the number of
	// records merged and the number the other database holds. It is
	// called from another goroutine than Merge's.
	Progress Progress
	// Now is the clock of the staging time of artifact bytes. Nil means
	// time.Now.
	Now func() time.Time
	// DryRun is ImportOptions.DryRun: the merge runs and is rolled back.
	DryRun bool
}

// Merge brings every record and artifact of the database file at
// otherPath into d: it is Export of the other file piped into Import, so
// it streams, follows the rules of Import, and is atomic in the same way.
// Merging again changes nothing, and merging A into B gives B the same
// content as merging B into A gives A.
//
// The other file is opened read-only and never changed. A file of an
// older schema is copied beside d's file (on a database server: into the
// temporary directory) and the copy migrated; a file of
// a newer schema is refused with storage.ErrSchemaTooNew.
func Merge(ctx context.Context, d storage.Engine, otherPath string, opts MergeOptions) (Stats, error) {
	// A SQLite store's file is not merged into itself, and a copy of the
	// other file to migrate goes beside it; on other engines, into the
	// temporary directory.
	dir := ""
	if d.Name() == "sqlite" {
		if a, err := os.Stat(d.Location()); err == nil {
			if b, err := os.Stat(otherPath); err == nil && os.SameFile(a, b) {
				return Stats{}, fmt.Errorf("%w: %s", ErrSameDatabase, otherPath)
			}
		}
		dir = filepath.Dir(d.Location())
	}
	other, cleanup, err := openOther(ctx, otherPath, dir)
	if err != nil {
		return Stats{}, err
	}
	defer cleanup()

	pr, pw := io.Pipe()
	var exportErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, exportErr = Export(ctx, other, pw, ExportOptions{Progress: opts.Progress})
		pw.CloseWithError(exportErr)
	}()
	stats, err := Import(ctx, d, pr, ImportOptions{Now: opts.Now, DryRun: opts.DryRun})
	// If the import stopped early, this ends the export's next write.
	pr.CloseWithError(errImportStopped)
	<-done
	if exportErr != nil && !errors.Is(exportErr, errImportStopped) {
		return stats, fmt.Errorf("merge %s: %w", otherPath, exportErr)
	}
	if err != nil {
		// A line of the export piped between the files means nothing to
		// the caller: name the other file's table and row instead.
		var le *LineError
		if errors.As(err, &le) && tables[le.Kind] != "" {
			le.Table = tables[le.Kind]
		}
		return stats, fmt.Errorf("merge %s: %w", otherPath, err)
	}
	return stats, nil
}

var errImportStopped = errors.New("portable: the import stopped")

// openOther opens the database at path read-only. A file that needs a
// migration is copied into dir first and the copy is migrated.
//
// Before anything of the file is read as records, its schema is checked
// against the one its version defines (schema.Check): a file that carries
// a view, a trigger or any table, column or index metatrack's migrations
// do not create is refused with storage.ErrUnexpectedSchema, and never
// migrated.
func openOther(ctx context.Context, path, dir string) (*sqlite.DB, func(), error) {
	other, err := sqlite.Open(ctx, path, sqlite.Options{ReadOnly: true})
	if err == nil {
		err = other.ReadSnapshot(ctx, func(tx *sqlx.Tx) error { return schema.Check(ctx, tx) })
		if err != nil {
			other.Close()
			return nil, nil, fmt.Errorf("merge %s: %w", path, err)
		}
		return other, func() { other.Close() }, nil
	}
	if !errors.Is(err, storage.ErrReadOnly) {
		return nil, nil, err
	}
	if err := checkFile(ctx, path); err != nil {
		return nil, nil, fmt.Errorf("merge %s: %w", path, err)
	}
	// ErrReadOnly: the file's schema is older than ours (or the file has
	// a dirty migration). Migrate a copy.
	tmp, err := os.CreateTemp(dir, ".metatrack-merge-*.db")
	if err != nil {
		return nil, nil, err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	remove := func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmpPath + suffix)
		}
	}
	os.Remove(tmpPath) // VACUUM INTO needs a path that does not exist
	if err := sqlite.CopyFile(ctx, path, tmpPath); err != nil {
		remove()
		return nil, nil, err
	}
	other, err = sqlite.Open(ctx, tmpPath, sqlite.Options{})
	if err != nil {
		remove()
		return nil, nil, err
	}
	return other, func() { other.Close(); remove() }, nil
}

// checkFile checks the schema of the database file at path, read without
// writing to it (see sqlite.CopyFile).
func checkFile(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", sqlite.ReadDSN(path))
	if err != nil {
		return err
	}
	defer conn.Close()
	return sqlite.Classify(schema.Check(ctx, conn))
}

// BackupOptions configure Backup.
type BackupOptions struct {
	// Filter, Now, Resolve and NoLineage select what is backed up, as in
	// ExportOptions; an empty Filter backs up everything.
	Filter    string
	Now       func() time.Time
	Resolve   func(ref string) (int64, error)
	NoLineage bool
	// Progress, if set, is called as the records are written.
	Progress Progress
}

// Backup writes the store d, or the part opts.Filter selects, to a new
// SQLite file at path, which must not exist: its export streamed into the
// import of a fresh file beside path, renamed to path only when whole, so
// that a failed backup leaves nothing at path. It works on every engine.
func Backup(ctx context.Context, d storage.Engine, path string, opts BackupOptions) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%w: %s; a backup writes a new file only", os.ErrExist, path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".metatrack-backup-*.db")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	os.Remove(tmpPath)
	remove := func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmpPath + suffix)
		}
	}
	dst, err := sqlite.Open(ctx, tmpPath, sqlite.Options{})
	if err != nil {
		remove()
		return err
	}
	pr, pw := io.Pipe()
	var exportErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, exportErr = Export(ctx, d, pw, ExportOptions{Filter: opts.Filter, Now: opts.Now, Resolve: opts.Resolve,
			NoLineage: opts.NoLineage, Progress: opts.Progress})
		pw.CloseWithError(exportErr)
	}()
	_, err = Import(ctx, dst, pr, ImportOptions{Now: opts.Now})
	pr.CloseWithError(errImportStopped)
	<-done
	if exportErr != nil {
		err = exportErr
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmpPath, path)
	}
	if err != nil {
		remove()
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}
