package metatrack

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/metatrack/metatrack/rules"
	"github.com/metatrack/metatrack/storage"
)

// Artifact kinds. Reports logged by LogDataProfile, LogChecks and
// LogDataComparison are artifacts of their own kind, so they can be listed
// and read back by kind.
const (
	KindArtifact       = rules.KindArtifact
	KindDataProfile    = rules.KindDataProfile
	KindChecks         = rules.KindChecks
	KindDataComparison = rules.KindDataComparison
)

// ChunkSize is the size of the pieces artifact bytes are stored and read
// in: a file of any size streams through memory one chunk at a time.
const ChunkSize = 1 << 20

// chunksPerTx is how many chunks one transaction writes when an artifact is
// stored outside a batch, so that other writers get the lock in between.
const chunksPerTx = 16

// Artifact is the record of a file stored for a resource.
type Artifact struct {
	ID         string `json:"id"`
	ResourceID string `json:"resource_id"`
	// Name is unique per resource, a relative slash-separated path such as
	// model.json or checks/data/report.json.
	Name string `json:"name"`
	// Kind is KindArtifact or a report kind.
	Kind string `json:"kind"`
	// CheckType is the check type of a KindChecks report (data, model,
	// prediction, ...).
	CheckType string `json:"check_type"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size_bytes"`
	// SHA256 is the hex SHA-256 of the bytes ("" for an external artifact
	// recorded without one).
	SHA256 string `json:"sha256"`
	// URI is set for external artifacts, whose bytes are not in the
	// database.
	URI string `json:"uri"`
	// SourcePath is the path the file was logged from.
	SourcePath string    `json:"source_path"`
	RunID      string    `json:"run_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// External reports whether the artifact's bytes live outside the database.
func (a Artifact) External() bool { return a.URI != "" }

type artifactRow struct {
	Seq        int64          `db:"seq"`
	ID         string         `db:"id"`
	ResourceID string         `db:"resource_id"`
	Name       string         `db:"name"`
	Kind       string         `db:"kind"`
	CheckType  string         `db:"check_type"`
	MediaType  string         `db:"media_type"`
	Size       int64          `db:"size"`
	SHA256     string         `db:"sha256"`
	BlobSeq    sql.NullInt64  `db:"blob_seq"`
	ChunkSize  sql.NullInt64  `db:"chunk_size"`
	URI        string         `db:"uri"`
	SourcePath string         `db:"source_path"`
	RunID      sql.NullString `db:"run_id"`
	CreatedAt  int64          `db:"created_at"`
}

func (r artifactRow) artifact() Artifact {
	return Artifact{ID: r.ID, ResourceID: r.ResourceID, Name: r.Name, Kind: r.Kind, CheckType: r.CheckType,
		MediaType: r.MediaType, Size: r.Size, SHA256: r.SHA256, URI: r.URI, SourcePath: r.SourcePath,
		RunID: r.RunID.String, CreatedAt: fromMillis(r.CreatedAt)}
}

// checkFileName refuses a file name (one path element) that some operating
// system would not take as a plain file inside a directory: on Windows a
// colon names a drive or a data stream, CON, NUL, COM1 and the like are
// devices in every directory, and trailing dots and spaces are dropped. The
// check is the same on every operating system, so that what a stored name
// writes does not depend on where it is read back.
func checkFileName(base string) error {
	if strings.ContainsAny(base, `:<>"|?*`) || strings.TrimRight(base, ". ") != base ||
		strings.ContainsFunc(base, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: %q is not a portable file name (no :<>\"|?*, control characters, or trailing dot or space)", ErrInvalidArgument, base)
	}
	stem, _, _ := strings.Cut(base, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	device := stem == "CON" || stem == "PRN" || stem == "AUX" || stem == "NUL" || stem == "CONIN$" || stem == "CONOUT$"
	if len(stem) > 3 && (stem[:3] == "COM" || stem[:3] == "LPT") {
		switch stem[3:] {
		case "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3":
			device = true
		}
	}
	if device {
		return fmt.Errorf("%w: %q is a device name on Windows, not a file name", ErrInvalidArgument, base)
	}
	return nil
}

// ArtifactFilePath returns the file that writing artifact name to dst
// writes: dst itself, or, when dst is a directory, the artifact's base name
// inside it. The name may come from a file that was edited or forged, so
// it is checked again: one the API would refuse is ErrCorrupt; one whose
// base name is not a portable file name (see the README's Guarantees) is
// ErrInvalidArgument when it would name the file. The checks are the same
// on every operating system.
func ArtifactFilePath(dst, name string) (string, error) {
	if err := rules.ArtifactName(name); err != nil {
		return "", fmt.Errorf("%w: stored artifact name: %w", ErrCorrupt, err)
	}
	info, err := os.Stat(dst)
	if err != nil || !info.IsDir() {
		return dst, nil
	}
	base := path.Base(name)
	if err := checkFileName(base); err != nil {
		return "", fmt.Errorf("artifact %q cannot be written into %s under its own name: %w (give a file path instead)", name, dst, err)
	}
	return filepath.Join(dst, base), nil
}

// WriteArtifactFile writes r, the bytes of artifact a as GetArtifact
// returns them, to the file ArtifactFilePath(dst, a.Name) names, and
// returns that path. The bytes go to a temporary file beside it that is
// flushed to disk and renamed into place only after r reached its end
// without error (the hash checked out), so a failed or corrupt read never
// leaves a partial file; rename replaces, and never follows, a symlink
// named like the file. SaveArtifact and the command line's artifacts get
// both write through it.
func WriteArtifactFile(dst string, a Artifact, r io.Reader) (string, error) {
	dst, err := ArtifactFilePath(dst, a.Name)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".part-*")
	if err != nil {
		return "", storage.ClassifyOS(err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.CopyBuffer(tmp, r, make([]byte, ChunkSize)); err != nil {
		tmp.Close()
		return "", storage.ClassifyOS(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", storage.ClassifyOS(err)
	}
	if err := tmp.Close(); err != nil {
		return "", storage.ClassifyOS(err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", storage.ClassifyOS(err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", storage.ClassifyOS(err)
	}
	return dst, nil
}

// LogArtifact stores the file at path as artifact name of res (name
// defaults to the file's base name) and returns its record. The bytes go
// into the database file, streamed in chunks so that a file of any size
// never has to fit in memory, and are deduplicated by SHA-256 across the
// whole database. Logging a name again replaces the record (the history
// keeps the old hash). With WithExternalURI only the URI (and the file's
// hash and size, if path is given) is recorded.
func (t *Tracker) LogArtifact(ctx context.Context, res Resource, name, path string, opts ...ArtifactOption) (Artifact, error) {
	cfg := artifactConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	return t.logArtifact(ctx, res, name, path, KindArtifact, "", cfg)
}

// LogDataProfile stores a data profile report of res (kind data_profile,
// named data_profile/<file name> unless WithArtifactName says otherwise).
func (t *Tracker) LogDataProfile(ctx context.Context, res Resource, path string, opts ...ArtifactOption) (Artifact, error) {
	return t.logReport(ctx, res, path, KindDataProfile, "", opts)
}

// LogChecks stores a check report of res of the given check type (data,
// model, prediction, ...), named checks/<type>/<file name> by default.
func (t *Tracker) LogChecks(ctx context.Context, res Resource, path, checkType string, opts ...ArtifactOption) (Artifact, error) {
	if err := rules.Word("check type", checkType); err != nil {
		return Artifact{}, fmt.Errorf("check type: %w", err)
	}
	return t.logReport(ctx, res, path, KindChecks, checkType, opts)
}

// LogDataComparison stores a data comparison report of res, named
// data_comparison/<file name> by default.
func (t *Tracker) LogDataComparison(ctx context.Context, res Resource, path string, opts ...ArtifactOption) (Artifact, error) {
	return t.logReport(ctx, res, path, KindDataComparison, "", opts)
}

func (t *Tracker) logReport(ctx context.Context, res Resource, path, kind, checkType string, opts []ArtifactOption) (Artifact, error) {
	cfg := artifactConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	name := cfg.name
	if name == "" {
		prefix := kind + "/"
		if checkType != "" {
			prefix += checkType + "/"
		}
		name = prefix + filepath.Base(path)
	}
	return t.logArtifact(ctx, res, name, path, kind, checkType, cfg)
}

// storedBlob is what storing a file's bytes produced.
type storedBlob struct {
	seq    any // int64, or nil for an external artifact
	sha256 string
	size   int64
}

// errBlobGone: a deduplicated blob vanished (gc) between finding it and
// recording the artifact; logArtifact then stores the bytes again.
var errBlobGone = errors.New("blob removed concurrently")

func (t *Tracker) logArtifact(ctx context.Context, res Resource, name, srcPath, kind, checkType string, cfg artifactConfig) (Artifact, error) {
	return t.logArtifactOnce(ctx, res, name, srcPath, kind, checkType, cfg, false)
}

func (t *Tracker) logArtifactOnce(ctx context.Context, res Resource, name, srcPath, kind, checkType string, cfg artifactConfig, retried bool) (Artifact, error) {
	if name == "" && srcPath != "" {
		name = filepath.Base(srcPath)
	}
	if err := rules.ArtifactName(name); err != nil {
		return Artifact{}, err
	}
	if err := rules.ArtifactKind(kind, checkType); err != nil {
		return Artifact{}, err
	}
	if cfg.sha256 != "" {
		if b, err := hex.DecodeString(cfg.sha256); err != nil || len(b) != sha256.Size {
			return Artifact{}, fmt.Errorf("%w: %q is not a hex SHA-256", ErrInvalidArgument, cfg.sha256)
		}
		cfg.sha256 = strings.ToLower(cfg.sha256)
	}
	if cfg.uri == "" && srcPath == "" {
		return Artifact{}, fmt.Errorf("%w: artifact %q: no file path given", ErrInvalidArgument, name)
	}
	var abs string
	if srcPath != "" {
		var err error
		if abs, err = filepath.Abs(srcPath); err != nil {
			return Artifact{}, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
		}
		if cfg.sourcePath != "" {
			abs = cfg.sourcePath
		}
		info, err := os.Stat(srcPath)
		if err != nil {
			return Artifact{}, fmt.Errorf("%w: artifact %q: %w", ErrInvalidArgument, name, err)
		}
		if !info.Mode().IsRegular() {
			return Artifact{}, fmt.Errorf("%w: artifact %q: %s is a directory or special file, not a regular file", ErrInvalidArgument, name, srcPath)
		}
	}
	// Find the resource before any bytes move, so a bad reference fails fast.
	var row resourceRow
	if err := t.readOne(ctx, func(x *txn) (err error) { row, err = x.target(ctx, res); return err }); err != nil {
		return Artifact{}, err
	}

	var blob storedBlob
	var staged int64 // a staged blob to finish in the record's transaction
	var err error
	switch {
	case cfg.uri != "":
		blob.sha256, blob.size = cfg.sha256, cfg.size
		if srcPath != "" {
			if blob.sha256, blob.size, err = hashFile(srcPath); err != nil {
				return Artifact{}, err
			}
			if cfg.sha256 != "" && cfg.sha256 != blob.sha256 {
				return Artifact{}, fmt.Errorf("%w: %s has SHA-256 %s, not the expected %s", ErrInvalidArgument, srcPath, blob.sha256, cfg.sha256)
			}
		}
	default:
		blob, staged, err = t.storeFile(ctx, srcPath, cfg.sha256)
		if err != nil {
			return Artifact{}, err
		}
	}
	mediaType := cfg.mediaType
	if mediaType == "" {
		mediaType = mime.TypeByExtension(path.Ext(name))
	}

	var out Artifact
	err = t.write(ctx, func(x *txn) error {
		if err := rules.Artifact(cfg.uri == "", blob.size, blob.sha256, mediaType, cfg.uri, abs); err != nil {
			return err
		}
		if staged != 0 {
			seq, err := x.finishBlob(ctx, staged, blob.sha256, blob.size)
			if err != nil {
				return err
			}
			blob.seq = seq
		} else if seq, ok := blob.seq.(int64); ok {
			// The blob was found before this transaction; gc in another
			// process may have removed it since.
			var n int
			if err := x.get(ctx, &n, x.sql.BlobExists, seq); err != nil {
				return err
			}
			if n == 0 {
				return errBlobGone
			}
		}
		var old artifactRow
		err := x.get(ctx, &old, x.sql.ArtifactByName, row.Seq, name)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id := old.ID
		if id == "" {
			id = newID()
		}
		if _, err := x.exec(ctx, x.sql.UpsertArtifact, id, row.Seq, name, kind, checkType, mediaType, blob.size,
			blob.sha256, blob.seq, cfg.uri, abs, x.runSeq(), x.now); err != nil {
			return err
		}
		var oldV any
		if old.ID != "" {
			oldV = map[string]any{"sha256": old.SHA256, "size": old.Size, "uri": old.URI}
		}
		newV := map[string]any{"sha256": blob.sha256, "size": blob.size, "kind": kind, "uri": cfg.uri}
		if err := x.history(ctx, row.Seq, ChangeArtifact, name, oldV, newV); err != nil {
			return err
		}
		var rec artifactRow
		if err := x.get(ctx, &rec, x.sql.ArtifactByName, row.Seq, name); err != nil {
			return err
		}
		out = rec.artifact()
		return nil
	})
	if errors.Is(err, errBlobGone) && !retried {
		return t.logArtifactOnce(ctx, res, name, srcPath, kind, checkType, cfg, true)
	}
	if err != nil && staged != 0 {
		// The staged chunks were never made visible; remove them.
		t.dropStaged(ctx, staged)
	}
	return out, err
}

// dropStaged deletes a staged blob that will never be finished. It runs
// even when ctx is cancelled (that is often why the blob is abandoned), for
// a bounded time; gc removes what a dead process leaves behind.
func (t *Tracker) dropStaged(ctx context.Context, blobSeq int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	t.db.WriteTx(ctx, func(tx storage.Tx) error {
		_, err := tx.ExecContext(ctx, t.sql.DeleteBlob, blobSeq)
		return err
	})
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// storeFile puts the bytes of the file at p into the database unless a blob
// with the same hash is there already. It returns the blob and, when it
// wrote new bytes, the staged blob's seq, which the caller finishes in the
// transaction that records the artifact: until then the bytes are invisible.
func (t *Tracker) storeFile(ctx context.Context, p, wantSHA string) (storedBlob, int64, error) {
	sum, size, err := hashFile(p)
	if err != nil {
		return storedBlob{}, 0, err
	}
	if wantSHA != "" && wantSHA != sum {
		return storedBlob{}, 0, fmt.Errorf("%w: %s has SHA-256 %s, not the expected %s", ErrInvalidArgument, p, sum, wantSHA)
	}
	var existing int64
	err = t.readOne(ctx, func(x *txn) error { return x.get(ctx, &existing, x.sql.BlobBySHA, sum) })
	if err == nil {
		return storedBlob{seq: existing, sha256: sum, size: size}, 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return storedBlob{}, 0, err
	}

	// The bytes go to the write-ahead log first, up to one staging
	// transaction ahead of the database file. Refuse what cannot fit before
	// writing any of it: staged bytes that fill the disk cannot be removed
	// from a disk with no room left to remove them.
	if sc, ok := t.db.(storage.SpaceChecker); !ok {
	} else if free, ok := sc.FreeSpace(); ok && size+min(size, chunksPerTx*ChunkSize) > free {
		return storedBlob{}, 0, fmt.Errorf("%w: %s is %d bytes, and the disk of %s has %d bytes free", ErrDiskFull, p, size, t.db.Location(), free)
	}
	f, err := os.Open(p)
	if err != nil {
		return storedBlob{}, 0, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	defer f.Close()
	staged, written, err := t.stageBlob(ctx, f)
	if err != nil {
		return storedBlob{}, 0, err
	}
	if written.sha256 != sum || written.size != size {
		t.dropStaged(ctx, staged)
		return storedBlob{}, 0, fmt.Errorf("%w: %s changed while it was being stored", ErrInvalidArgument, p)
	}
	return written, staged, nil
}

// stageBlob writes r's bytes as a staged blob (sha256 NULL), in
// transactions of chunksPerTx chunks (or in the batch's transaction).
func (t *Tracker) stageBlob(ctx context.Context, r io.Reader) (int64, storedBlob, error) {
	h := sha256.New()
	buf := make([]byte, ChunkSize)
	var blobSeq int64
	var size int64
	idx := 0
	eof := false
	for !eof {
		err := t.write(ctx, func(x *txn) error {
			if blobSeq == 0 {
				if err := x.get(ctx, &blobSeq, x.sql.InsertBlob, ChunkSize, x.now); err != nil {
					return err
				}
			} else if _, err := x.exec(ctx, x.sql.TouchBlob, x.now, blobSeq); err != nil {
				// A staged blob's created_at is when it last grew, so gc can
				// tell an abandoned upload from one in progress.
				return err
			}
			for n := 0; n < chunksPerTx && !eof; n++ {
				k, err := io.ReadFull(r, buf)
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					eof = true
				} else if err != nil {
					return err
				}
				if k == 0 {
					break
				}
				h.Write(buf[:k])
				if _, err := x.exec(ctx, x.sql.InsertChunk, blobSeq, idx, buf[:k]); err != nil {
					return err
				}
				idx++
				size += int64(k)
			}
			return nil
		})
		// Each staging transaction is large: have it checkpointed now
		// rather than let the log grow with the whole file.
		if c, ok := t.db.(storage.Checkpointer); ok {
			c.RequestCheckpoint()
		}
		if err != nil {
			if blobSeq != 0 && t.tx == nil {
				t.dropStaged(ctx, blobSeq)
			}
			return 0, storedBlob{}, err
		}
	}
	return blobSeq, storedBlob{seq: blobSeq, sha256: hex.EncodeToString(h.Sum(nil)), size: size}, nil
}

// finishBlob makes the staged blob visible under its hash, or, when another
// writer stored the same bytes meanwhile, drops it and returns theirs.
func (x *txn) finishBlob(ctx context.Context, staged int64, sum string, size int64) (int64, error) {
	var existing int64
	err := x.get(ctx, &existing, x.sql.BlobBySHA, sum)
	if err == nil {
		_, err = x.exec(ctx, x.sql.DeleteBlob, staged)
		return existing, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	_, err = x.exec(ctx, x.sql.FinishBlob, sum, size, staged)
	return staged, err
}

// GetArtifact returns the record of artifact name of res and a reader of its
// bytes. The reader streams the bytes chunk by chunk and checks them
// against the recorded SHA-256: a mismatch makes Read fail with ErrCorrupt
// at the end instead of returning io.EOF. Close the reader when done. An
// external artifact is opened when its URI is a local file (file:// or a
// path); otherwise GetArtifact returns the record with ErrExternalArtifact.
func (t *Tracker) GetArtifact(ctx context.Context, res Resource, name string) (Artifact, io.ReadCloser, error) {
	var row artifactRow
	err := t.read(ctx, func(x *txn) error {
		r, err := x.resolveRes(ctx, res)
		if err != nil {
			return err
		}
		err = x.get(ctx, &row, x.sql.ArtifactByName, r.Seq, name)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: artifact %q of %s", ErrNotFound, name, r.ref())
		}
		return err
	})
	if err != nil {
		return Artifact{}, nil, err
	}
	return t.openArtifact(ctx, row)
}

func (t *Tracker) openArtifact(ctx context.Context, row artifactRow) (Artifact, io.ReadCloser, error) {
	a := row.artifact()
	if row.URI != "" {
		p, ok := localPath(row.URI)
		if !ok {
			return a, nil, fmt.Errorf("%w: %s", ErrExternalArtifact, row.URI)
		}
		f, err := os.Open(p)
		if err != nil {
			return a, nil, fmt.Errorf("%w: %s: %w", ErrExternalArtifact, row.URI, err)
		}
		return a, &verifyingReader{r: f, c: f, h: sha256.New(), want: row.SHA256, size: row.Size, name: a.Name}, nil
	}
	if !row.BlobSeq.Valid {
		return a, nil, fmt.Errorf("%w: artifact %q has neither bytes nor URI", ErrCorrupt, a.Name)
	}
	br := &blobReader{ctx: ctx, t: t, blob: row.BlobSeq.Int64, chunkSize: row.ChunkSize.Int64, size: row.Size, name: a.Name}
	return a, &verifyingReader{r: br, c: br, h: sha256.New(), want: row.SHA256, size: row.Size, name: a.Name}, nil
}

func localPath(uri string) (string, bool) {
	if strings.HasPrefix(uri, "/") {
		return uri, true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return "", false
	}
	return u.Path, true
}

// blobReader reads a blob's chunks one query at a time, each outside any
// transaction, so that a stream held open for long never keeps the
// write-ahead log from being checkpointed and restarted. A blob's bytes
// never change once stored; the reader notices when they are removed while
// it reads (the artifact replaced and garbage-collected), and the SHA-256
// over the whole stream catches anything else.
type blobReader struct {
	name      string
	ctx       context.Context
	t         *Tracker
	blob      int64
	chunkSize int64
	size      int64
	idx       int64
	read      int64
	buf       []byte
}

func (b *blobReader) Read(p []byte) (int, error) {
	if len(b.buf) == 0 {
		if b.read >= b.size {
			return 0, io.EOF
		}
		var data []byte
		err := b.t.readOne(b.ctx, func(x *txn) error { return x.get(b.ctx, &data, x.sql.Chunk, b.blob, b.idx) })
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := b.t.readOne(b.ctx, func(x *txn) error { return x.get(b.ctx, &n, x.sql.BlobExists, b.blob) }); err != nil {
				return 0, err
			}
			if n == 0 {
				return 0, fmt.Errorf("%w: artifact %q: its bytes were removed while they were read (replaced or deleted, then garbage-collected)",
					ErrConflict, b.name)
			}
			return 0, fmt.Errorf("%w: chunk %d of blob %d is missing", ErrCorrupt, b.idx, b.blob)
		}
		if err != nil {
			return 0, err
		}
		want := min(b.chunkSize, b.size-b.read)
		if int64(len(data)) != want {
			return 0, fmt.Errorf("%w: chunk %d of blob %d has %d bytes, expected %d", ErrCorrupt, b.idx, b.blob, len(data), want)
		}
		b.buf = data
		b.idx++
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	b.read += int64(n)
	return n, nil
}

func (b *blobReader) Close() error { return nil }

// verifyingReader hashes what passes through and checks it at the end.
type verifyingReader struct {
	r    io.Reader
	c    io.Closer
	h    hash.Hash
	want string
	size int64
	n    int64
	name string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if v.want != "" && hex.EncodeToString(v.h.Sum(nil)) != v.want {
			return n, fmt.Errorf("%w: artifact %q: SHA-256 of the bytes read is %x, recorded %s", ErrCorrupt, v.name, v.h.Sum(nil), v.want)
		}
		if v.size > 0 && v.n != v.size {
			return n, fmt.Errorf("%w: artifact %q: read %d bytes, recorded %d", ErrCorrupt, v.name, v.n, v.size)
		}
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.c.Close() }

// SaveArtifact writes the bytes of artifact name of res to dst (into it,
// under the artifact's base name, when dst is a directory) through
// WriteArtifactFile: a failed or corrupt read never leaves a partial file,
// and a forged stored name never names a file outside dst.
func (t *Tracker) SaveArtifact(ctx context.Context, res Resource, name, dst string) (Artifact, error) {
	a, rc, err := t.GetArtifact(ctx, res, name)
	if err != nil {
		return a, err
	}
	defer rc.Close()
	_, err = WriteArtifactFile(dst, a, rc)
	return a, err
}

// Artifacts lists the artifacts of res, oldest first; with kind not empty,
// only those of that kind (KindArtifact or a report kind; any other is
// refused with ErrInvalidArgument, as it could match nothing).
func (t *Tracker) Artifacts(ctx context.Context, res Resource, kind string) ([]Artifact, error) {
	switch kind {
	case "", KindArtifact, KindDataProfile, KindChecks, KindDataComparison:
	default:
		return nil, fmt.Errorf("%w: unknown artifact kind %q: valid are %s, %s, %s, %s", ErrInvalidArgument, kind,
			KindArtifact, KindDataProfile, KindChecks, KindDataComparison)
	}
	var out []Artifact
	err := t.read(ctx, func(x *txn) error {
		r, err := x.resolveRes(ctx, res)
		if err != nil {
			return err
		}
		var rows []artifactRow
		if kind == "" {
			err = x.sel(ctx, &rows, x.sql.ArtifactsOf, r.Seq)
		} else {
			err = x.sel(ctx, &rows, x.sql.ArtifactsOfKind, r.Seq, kind)
		}
		if err != nil {
			return err
		}
		for _, row := range rows {
			out = append(out, row.artifact())
		}
		return nil
	})
	return out, err
}

// GetDataProfile returns the newest data profile report of res and a
// verified reader of it.
func (t *Tracker) GetDataProfile(ctx context.Context, res Resource) (Artifact, io.ReadCloser, error) {
	return t.latestReport(ctx, res, KindDataProfile, "")
}

// GetChecks returns the newest check report of res of the given type.
func (t *Tracker) GetChecks(ctx context.Context, res Resource, checkType string) (Artifact, io.ReadCloser, error) {
	return t.latestReport(ctx, res, KindChecks, checkType)
}

// GetDataComparison returns the newest data comparison report of res.
func (t *Tracker) GetDataComparison(ctx context.Context, res Resource) (Artifact, io.ReadCloser, error) {
	return t.latestReport(ctx, res, KindDataComparison, "")
}

func (t *Tracker) latestReport(ctx context.Context, res Resource, kind, checkType string) (Artifact, io.ReadCloser, error) {
	var row artifactRow
	err := t.read(ctx, func(x *txn) error {
		r, err := x.resolveRes(ctx, res)
		if err != nil {
			return err
		}
		err = x.get(ctx, &row, x.sql.LatestOfKind, r.Seq, kind, checkType)
		if errors.Is(err, sql.ErrNoRows) {
			what := kind
			if checkType != "" {
				what += " (" + checkType + ")"
			}
			return fmt.Errorf("%w: no %s report on %s", ErrNotFound, what, r.ref())
		}
		return err
	})
	if err != nil {
		return Artifact{}, nil, err
	}
	return t.openArtifact(ctx, row)
}
