package portable

import (
	"github.com/jmoiron/sqlx"

	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/metatrack/metatrack/rules"
	"github.com/metatrack/metatrack/storage"
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Progress, if set, is called after each record with the number of
	// records read and the number the header announces.
	Progress Progress
	// Now is the clock of the staging time of artifact bytes (see GC). Nil
	// means time.Now.
	Now func() time.Time
	// DryRun runs the whole import in its transaction and rolls it back:
	// Stats say what it would do, and nothing is written (artifact bytes
	// are hashed but not staged).
	DryRun bool
}

// errDryRun rolls back the transaction of a dry run.
var errDryRun = errors.New("portable: dry run")

// Import reads an export from r into d and reconciles it with what d holds
// (see the package documentation for the rules). Importing the same export
// again changes nothing.
//
// The unit of atomicity is the whole import. Artifact bytes come first in
// an export; they are staged in transactions of their own, invisible (a
// blob without a hash) until the one transaction that then writes every
// other record commits. If the input is malformed or truncated, or anything
// else fails, that transaction rolls back and the staged bytes are removed:
// d is left as it was. (A process killed while staging leaves staged bytes
// that GC removes.) Errors about the input match ErrInvalid and are
// *LineError values that name the line.
func Import(ctx context.Context, d storage.Engine, r io.Reader, opts ImportOptions) (Stats, error) {
	im := &importer{ctx: ctx, d: d, sql: &d.SQL().ImportStatements, lr: newLineReader(r), progress: opts.Progress, now: opts.Now, dryRun: opts.DryRun,
		aliases: map[string]int64{}, runs: map[string]int64{}, chains: map[chainKey]*chainState{}, touched: map[chainKey]int{}, newMembers: map[string]bool{},
		blobsSeen: map[string]bool{}}
	if im.now == nil {
		im.now = time.Now
	}
	err := im.run()
	if err != nil {
		im.dropStaged()
	}
	if im.dryRun && errors.Is(err, errDryRun) {
		im.stats.DryRun = true
		err = nil
	}
	return im.stats, err
}

type importer struct {
	ctx      context.Context
	d        storage.Engine
	sql      *storage.ImportStatements
	lr       *lineReader
	progress Progress
	now      func() time.Time
	dryRun   bool
	stats    Stats
	header   headerRec
	rank     int
	lastKind string

	// Blobs: the one whose chunks are being read, the bytes staged and
	// the blobs the database had already.
	blobsSeen map[string]bool
	blob      *blobState
	staged    []stagedBlob
	known     []knownBlob

	// Records.
	tx          storage.Tx
	row         string           // the key of the current record, for errors
	aliases     map[string]int64 // ids of the file given up for a resource of the same name
	runs        map[string]int64
	chains      map[chainKey]*chainState
	touched     map[chainKey]int // chains the file holds members of: the first line of each
	newMembers  map[string]bool  // ids of the chain members the file added
	placeholder int64
	// Resources whose deletion state or aliases the file's history entries
	// (deleted, restored, alias) may change: see reconcile.
	reconcileSeqs map[int64]bool
}

// errf returns a *LineError about the current line.
func (im *importer) errf(format string, args ...any) error {
	return &LineError{Line: im.lr.line, Kind: im.lastKind, Row: im.row, Err: fmt.Errorf(format, args...)}
}

// ruleErr is a *LineError about the current line for a record that breaks
// a rule of package rules; it matches ErrInvalid and ErrInvalidArgument.
func (im *importer) ruleErr(err error) error {
	if err == nil {
		return nil
	}
	return &LineError{Line: im.lr.line, Kind: im.lastKind, Row: im.row, Err: err}
}

// lineErr adds the current line to an error of the database. A
// constraint the record violates is the file's fault; other failures
// (a full disk, a cancelled context) are not.
func (im *importer) lineErr(err error) error {
	var le *LineError
	switch {
	case err == nil || errors.As(err, &le):
		return err
	case im.d.IsConstraint(err):
		return &LineError{Line: im.lr.line, Kind: im.lastKind, Row: im.row, Err: err}
	}
	return fmt.Errorf("portable: import, line %d: %w", im.lr.line, err)
}

// decode decodes the current line into rec; its errors are about the line.
func (im *importer) decode(line []byte, rec any) error {
	if err := decode(line, rec); err != nil {
		return im.errf("%v", err)
	}
	return nil
}

// nextRecord reads the next non-empty line and its kind, checking the
// order of kinds.
func (im *importer) nextRecord() (string, []byte, error) {
	for {
		line, err := im.lr.next()
		if errors.Is(err, io.EOF) {
			return "", nil, &LineError{Line: im.lr.line, Err: fmt.Errorf("the file ends without an end record after %d records: it is truncated", im.stats.Records)}
		}
		if err != nil {
			return "", nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		im.lastKind, im.row = "", ""
		if err := checkText(line); err != nil {
			return "", nil, im.errf("%v", err)
		}
		kind, err := peekKind(line)
		if err != nil {
			return "", nil, im.errf("%v", err)
		}
		r, ok := rank[kind]
		if !ok {
			return "", nil, im.errf("unknown record kind %q", kind)
		}
		im.lastKind = kind
		if r < im.rank {
			return "", nil, im.errf("a %s record after a record of a later kind; the order is blob and chunk, run, resource, tag, metadata, vc_info, artifact, edge, deployment, alias, purged, history, metric, end", kind)
		}
		im.rank = r
		if kind != KindEnd {
			im.stats.count(kind)
			if im.progress != nil {
				im.progress(im.stats.Records, im.header.Records)
			}
			if im.stats.Records%1024 == 0 {
				if err := im.ctx.Err(); err != nil {
					return "", nil, err
				}
			}
		}
		return kind, line, nil
	}
}

func (im *importer) run() error {
	line, err := im.lr.next()
	if errors.Is(err, io.EOF) {
		return &LineError{Line: 1, Err: errors.New("the file is empty")}
	}
	if err != nil {
		return err
	}
	if err := checkText(line); err != nil {
		return &LineError{Line: 1, Err: fmt.Errorf("header: %v", err)}
	}
	if err := decode(line, &im.header); err != nil {
		return &LineError{Line: 1, Err: fmt.Errorf("header: %v", err)}
	}
	if im.header.Format != Format {
		return &LineError{Line: 1, Err: fmt.Errorf("header: format is %q, not %q", im.header.Format, Format)}
	}
	if im.header.Version < 1 || im.header.Version > Version {
		return &LineError{Line: 1, Err: fmt.Errorf("header: format version %d is not supported (this library reads up to %d)", im.header.Version, Version)}
	}

	// Artifact bytes first, staged outside the records' transaction.
	var kind string
	for {
		if kind, line, err = im.nextRecord(); err != nil {
			return err
		}
		if kind != KindBlob && kind != KindChunk {
			break
		}
		if err := im.blobLine(kind, line); err != nil {
			return im.lineErr(err)
		}
	}
	if im.blob != nil {
		return im.errf("blob %s has %d of its %d chunks", im.blob.rec.SHA256, im.blob.next, im.blob.rec.Chunks)
	}

	return im.d.WriteTx(im.ctx, func(tx storage.Tx) error {
		im.tx = tx
		if err := im.finishBlobs(); err != nil {
			return err
		}
		for {
			if kind == KindEnd {
				if err := im.end(line); err != nil {
					return err
				}
				if im.dryRun {
					return errDryRun
				}
				return nil
			}
			if err := im.record(kind, line); err != nil {
				return im.lineErr(err)
			}
			if kind, line, err = im.nextRecord(); err != nil {
				return err
			}
		}
	})
}

func (im *importer) record(kind string, line []byte) error {
	switch kind {
	case KindRun:
		return decodeThen(im, line, im.runRecord)
	case KindResource:
		return decodeThen(im, line, im.resource)
	case KindTag:
		return decodeThen(im, line, im.tag)
	case KindMetadata:
		return decodeThen(im, line, im.metadata)
	case KindVCInfo:
		return decodeThen(im, line, im.vcInfo)
	case KindArtifact:
		return decodeThen(im, line, im.artifact)
	case KindEdge:
		return decodeThen(im, line, im.edge)
	case KindDeployment:
		return decodeThen(im, line, im.deployment)
	case KindAlias:
		return decodeThen(im, line, im.aliasRecord)
	case KindPurged:
		return decodeThen(im, line, im.purgedRecord)
	case KindHistory:
		return decodeThen(im, line, im.history)
	case KindMetric:
		return decodeThen(im, line, im.metric)
	}
	return im.errf("a %s record after the artifact bytes", kind)
}

// decodeThen decodes line into a record of type T and hands it to apply.
func decodeThen[T any](im *importer, line []byte, apply func(T) error) error {
	var r T
	if err := im.decode(line, &r); err != nil {
		return err
	}
	im.row = rowOf(r)
	return apply(r)
}

// rowOf names a record by its key, for errors.
func rowOf(r any) string {
	switch r := r.(type) {
	case runRec:
		return "id " + r.ID
	case resourceRec:
		return "id " + r.ID
	case tagRec:
		return fmt.Sprintf("resource %s, key %q", r.Resource, r.Key)
	case metadataRec:
		return fmt.Sprintf("resource %s, key %q", r.Resource, r.Key)
	case vcInfoRec:
		return fmt.Sprintf("resource %s, key %q", r.Resource, r.Key)
	case artifactRec:
		return "id " + r.ID
	case edgeRec:
		return fmt.Sprintf("src %s, relation %q, dst %s", r.Src, r.Relation, r.Dst)
	case deploymentRec:
		return "id " + r.ID
	case historyRec:
		return "id " + r.ID
	case blobRec:
		return "sha256 " + r.SHA256
	case chunkRec:
		return fmt.Sprintf("blob %s, idx %d", r.Blob, r.Idx)
	}
	return ""
}

// end checks the end record and that nothing follows it, then reconciles
// the chains and tags.
func (im *importer) end(line []byte) error {
	var r endRec
	if err := im.decode(line, &r); err != nil {
		return im.lineErr(err)
	}
	if r.Records != im.stats.Records || im.header.Records != im.stats.Records {
		return im.errf("the file holds %d records, the header announces %d and the end record %d", im.stats.Records, im.header.Records, r.Records)
	}
	for {
		rest, err := im.lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(rest)) > 0 {
			return &LineError{Line: im.lr.line, Err: errors.New("data after the end record")}
		}
	}
	im.lastKind = ""
	if err := im.renumber(); err != nil {
		return err
	}
	if err := im.checkChains(); err != nil {
		return err
	}
	if err := im.tombstones(); err != nil {
		return err
	}
	return im.reconcile()
}

// Statements run on the records' transaction, prepared once per database.

func (im *importer) exec(query string, args ...any) (sql.Result, error) {
	return im.tx.Exec(im.ctx, query, args...)
}

func (im *importer) get(dest any, query string, args ...any) error {
	return im.tx.Get(im.ctx, dest, query, args...)
}

// found turns sql.ErrNoRows into false.
func found(err error) (bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// added counts a write that added rows, and updated one that changed some.
func (im *importer) added(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		im.stats.Added++
	}
	return nil
}

func (im *importer) updated(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		im.stats.Updated++
	}
	return nil
}

// ---- Blobs ----

type blobState struct {
	rec     blobRec
	next    int64
	size    int64
	h       hash.Hash
	stage   bool
	seq     int64
	pending [][]byte // chunks not yet written, up to chunksPerTx
}

type stagedBlob struct {
	seq       int64
	sha       string
	size      int64
	createdAt int64
	finished  bool
	// dry: a dry run's blob, not staged; finishBlobs inserts it (without
	// bytes) in the transaction that is rolled back.
	dry       bool
	chunkSize int64
	// chunks is the number of chunk records of the blob, added with it.
	chunks int64
}

type knownBlob struct {
	sha       string
	createdAt int64
}

// chunksPerTx is how many chunks one staging transaction writes, so that
// other writers get the lock in between.
const chunksPerTx = 16

func (im *importer) blobLine(kind string, line []byte) error {
	if kind == KindBlob {
		var r blobRec
		if err := im.decode(line, &r); err != nil {
			return err
		}
		im.row = rowOf(r)
		return im.blobRecord(r)
	}
	var r chunkRec
	if !fastChunk(line, &r) {
		if err := im.decode(line, &r); err != nil {
			return err
		}
	}
	return im.chunk(r)
}

func (im *importer) blobRecord(r blobRec) error {
	if im.blob != nil {
		return im.errf("blob %s has %d of its %d chunks", im.blob.rec.SHA256, im.blob.next, im.blob.rec.Chunks)
	}
	if !validSHA(r.SHA256) {
		return im.errf("sha256 %q is not a lower-case hex SHA-256", r.SHA256)
	}
	if im.blobsSeen[r.SHA256] {
		return im.errf("blob %s appears twice", r.SHA256)
	}
	im.blobsSeen[r.SHA256] = true
	if r.Size < 0 || r.ChunkSize <= 0 || r.Chunks != (r.Size+r.ChunkSize-1)/r.ChunkSize {
		return im.errf("blob %s: %d chunks of %d bytes cannot hold %d bytes", r.SHA256, r.Chunks, r.ChunkSize, r.Size)
	}
	b := &blobState{rec: r, h: sha256.New()}
	var seq int64
	ok, err := found(im.d.Reader().Get(im.ctx, &seq, im.sql.BlobSeqBySHA, r.SHA256))
	if err != nil {
		return err
	}
	if ok {
		im.known = append(im.known, knownBlob{sha: r.SHA256, createdAt: r.CreatedAt})
	} else if im.dryRun {
		im.staged = append(im.staged, stagedBlob{sha: r.SHA256, size: r.Size, createdAt: r.CreatedAt, dry: true, chunkSize: r.ChunkSize, chunks: r.Chunks})
	} else {
		b.stage = true
		err := im.d.WriteTx(im.ctx, func(tx storage.Tx) error {
			return tx.Get(im.ctx, &b.seq, im.sql.StageBlob, r.ChunkSize, im.now().UnixMilli())
		})
		if err != nil {
			return err
		}
		im.staged = append(im.staged, stagedBlob{seq: b.seq, sha: r.SHA256, size: r.Size, createdAt: r.CreatedAt, chunks: r.Chunks})
	}
	im.blob = b
	return im.blobDone()
}

func (im *importer) chunk(r chunkRec) error {
	b := im.blob
	if b == nil || r.Blob != b.rec.SHA256 {
		return im.errf("a chunk of blob %s that does not follow its blob record", r.Blob)
	}
	if r.Idx != b.next {
		return im.errf("blob %s: chunk %d where chunk %d was expected", r.Blob, r.Idx, b.next)
	}
	want := min(b.rec.ChunkSize, b.rec.Size-b.size)
	if int64(len(r.Data)) != want {
		return im.errf("blob %s: chunk %d has %d bytes, expected %d", r.Blob, r.Idx, len(r.Data), want)
	}
	b.h.Write(r.Data)
	b.size += int64(len(r.Data))
	b.next++
	im.stats.Bytes += int64(len(r.Data))
	if b.stage {
		b.pending = append(b.pending, r.Data)
		if len(b.pending) == chunksPerTx {
			if err := im.flushChunks(b); err != nil {
				return err
			}
		}
	}
	return im.blobDone()
}

// blobDone checks a blob whose chunks have all been read.
func (im *importer) blobDone() error {
	b := im.blob
	if b.next < b.rec.Chunks {
		return nil
	}
	im.blob = nil
	if sum := hex.EncodeToString(b.h.Sum(nil)); sum != b.rec.SHA256 {
		return im.errf("%w: blob %s: the SHA-256 of its chunks is %s", storage.ErrCorrupt, b.rec.SHA256, sum)
	}
	if b.stage {
		return im.flushChunks(b)
	}
	return nil
}

func (im *importer) flushChunks(b *blobState) error {
	if len(b.pending) == 0 {
		return nil
	}
	first := b.next - int64(len(b.pending))
	err := im.d.WriteTx(im.ctx, func(tx storage.Tx) error {
		for i, data := range b.pending {
			if _, err := tx.Exec(im.ctx, im.sql.AddChunk, b.seq, first+int64(i), data); err != nil {
				return err
			}
		}
		return nil
	})
	b.pending = b.pending[:0]
	return err
}

// finishBlobs makes the staged blobs visible in the records' transaction,
// or drops one when another writer stored the same bytes meanwhile.
func (im *importer) finishBlobs() error {
	for i, b := range im.staged {
		var seq int64
		ok, err := found(im.get(&seq, im.sql.BlobSeqBySHA, b.sha))
		if err != nil {
			return err
		}
		if ok && b.dry {
			im.known = append(im.known, knownBlob{sha: b.sha, createdAt: b.createdAt})
			continue
		}
		if ok {
			if _, err := im.exec(im.sql.DeleteChunks, b.seq); err != nil {
				return err
			}
			if _, err := im.exec(im.sql.DeleteStagedBlob, b.seq); err != nil {
				return err
			}
			im.known = append(im.known, knownBlob{sha: b.sha, createdAt: b.createdAt})
			continue
		}
		if b.dry {
			res, err := im.exec(im.sql.AddDryBlob, b.sha, b.size, b.chunkSize, b.createdAt)
			if err := im.added(res, err); err != nil {
				return err
			}
			im.stats.Added += b.chunks // its chunk records, added with it
			continue
		}
		if err := im.added(im.exec(im.sql.SealBlob,
			b.sha, b.size, b.createdAt, b.seq)); err != nil {
			return err
		}
		// The blob's chunk records were added with it.
		im.stats.Added += b.chunks
		im.staged[i].finished = true
	}
	// A blob both sides hold keeps the earlier creation time.
	for _, k := range im.known {
		if err := im.updated(im.exec(im.sql.EarlierBlob, k.createdAt, k.sha, k.createdAt)); err != nil {
			return err
		}
	}
	return nil
}

// dropStaged removes the bytes staged by a failed import. Blobs finished
// in the rolled-back transaction are staged again, so they go too.
func (im *importer) dropStaged() {
	if len(im.staged) == 0 || im.dryRun {
		return
	}
	ctx := context.WithoutCancel(im.ctx)
	im.d.WriteTx(ctx, func(tx storage.Tx) error {
		for _, b := range im.staged {
			if b.dry {
				continue // never written
			}
			if _, err := tx.ExecContext(ctx, im.sql.DeleteStagedChunks, b.seq, b.seq); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, im.sql.DeleteStagedBlob, b.seq); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- References ----

// resourceSeq returns the seq of the resource with the given id: one of
// the database, one the file added, or one it was unified with.
func (im *importer) resourceSeq(id, what string) (int64, error) {
	if id == "" {
		return 0, im.errf("%s is missing", what)
	}
	if seq, ok := im.aliases[id]; ok {
		return seq, nil
	}
	var seq int64
	ok, err := found(im.get(&seq, im.sql.ResourceSeq, id))
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, im.errf("%s %s is neither in the file (before this line) nor in the database", what, id)
	}
	return seq, nil
}

// runSeq returns the seq of run id, or nil for no run.
func (im *importer) runSeq(id string) (any, error) {
	if id == "" {
		return nil, nil
	}
	if seq, ok := im.runs[id]; ok {
		return seq, nil
	}
	var seq int64
	ok, err := found(im.get(&seq, im.sql.RunSeq, id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, im.errf("run %s is neither in the file nor in the database", id)
	}
	im.runs[id] = seq
	return seq, nil
}

// runID is the id of run seq n, "" for none; used to break ties.
func (im *importer) runID(n sql.NullInt64) (string, error) {
	if !n.Valid {
		return "", nil
	}
	var id string
	err := im.get(&id, im.sql.RunID, n.Int64)
	return id, err
}

// derivedID is the id of a history entry that Import writes itself. It is
// derived from what the entry records, so that importing again, or merging
// the other way round, writes the same entry once.
func derivedID(parts ...string) string {
	return uuid.NewSHA1(idSpace, []byte(strings.Join(parts, "\x00"))).String()
}

var idSpace = uuid.MustParse("9b0c6c8e-3f7a-4c1e-8d52-6a4f0e2b7d19")

// note records a history entry that Import writes itself, once.
func (im *importer) note(id string, seq, at int64, kind, key string, oldV, newV any) (bool, error) {
	o, err := json.Marshal(oldV)
	if err != nil {
		return false, err
	}
	n, err := json.Marshal(newV)
	if err != nil {
		return false, err
	}
	res, err := im.exec(im.sql.NoteHistory, id, seq, at, kind, key, string(o), string(n))
	if err != nil {
		return false, err
	}
	k, _ := res.RowsAffected()
	if k > 0 {
		im.stats.Added++
	}
	return k > 0, nil
}

// ---- Runs ----

type runRow struct {
	Seq       int64         `db:"seq"`
	Name      string        `db:"name"`
	Host      string        `db:"host"`
	User      string        `db:"username"`
	PID       int64         `db:"pid"`
	Status    string        `db:"status"`
	Error     string        `db:"error"`
	StartedAt int64         `db:"started_at"`
	EndedAt   sql.NullInt64 `db:"ended_at"`
}

// runEnd orders the outcomes of a run: an ended run beats a running one,
// then the later end wins, then the larger status and error text.
func runEndLess(aEnd sql.NullInt64, aStatus, aErr string, bEnd sql.NullInt64, bStatus, bErr string) bool {
	if aEnd.Valid != bEnd.Valid {
		return !aEnd.Valid
	}
	if aEnd.Int64 != bEnd.Int64 {
		return aEnd.Int64 < bEnd.Int64
	}
	if aStatus != bStatus {
		return aStatus < bStatus
	}
	return aErr < bErr
}

func nullInt(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

func nullable(n sql.NullInt64) any {
	if n.Valid {
		return n.Int64
	}
	return nil
}

func (im *importer) runRecord(r runRec) error {
	if r.ID == "" || r.Name == "" || r.Status == "" {
		return im.errf("a run needs an id, a name and a status")
	}
	if err := checkAll(rules.ID("run", r.ID), rules.RunName(r.Name), rules.Run(r.Host, r.User, r.Status, r.Error)); err != nil {
		return im.ruleErr(fmt.Errorf("run %s: %w", r.ID, err))
	}
	var ex runRow
	ok, err := found(im.get(&ex, im.sql.RunRowByID, r.ID))
	if err != nil {
		return err
	}
	ended := nullInt(r.EndedAt)
	if !ok {
		var seq int64
		if err := im.get(&seq, im.sql.AddRun, r.ID, r.Name, r.Host, r.User, r.PID, r.Status, r.Error, r.StartedAt, nullable(ended)); err != nil {
			return err
		}
		im.runs[r.ID] = seq
		im.stats.Added++
		return nil
	}
	im.runs[r.ID] = ex.Seq
	if ex.Name != r.Name || ex.Host != r.Host || ex.User != r.User || ex.PID != r.PID || ex.StartedAt != r.StartedAt {
		return im.errf("run %s is %q started at %d on %s here and %q started at %d on %s in the file",
			r.ID, ex.Name, ex.StartedAt, ex.Host, r.Name, r.StartedAt, r.Host)
	}
	if runEndLess(ex.EndedAt, ex.Status, ex.Error, ended, r.Status, r.Error) {
		return im.updated(im.exec(im.sql.UpdateRun,
			r.Status, r.Error, nullable(ended), ex.Seq))
	}
	return nil
}

// ---- Resources ----

// checkAll returns the first error of errs that is not nil.
func checkAll(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type resRow struct {
	Seq       int64         `db:"seq"`
	ID        string        `db:"id"`
	Type      string        `db:"type"`
	Name      string        `db:"name"`
	Version   sql.NullInt64 `db:"version"`
	ParentSeq sql.NullInt64 `db:"parent_seq"`
	Status    string        `db:"status"`
	Attrs     string        `db:"attrs"`
	RunSeq    sql.NullInt64 `db:"run_seq"`
	CreatedAt int64         `db:"created_at"`
	UpdatedAt int64         `db:"updated_at"`
	StartedAt sql.NullInt64 `db:"started_at"`
	EndedAt   sql.NullInt64 `db:"ended_at"`
	DeletedAt sql.NullInt64 `db:"deleted_at"`
}

type chainKey struct{ typ, name string }

// sortedChainKeys returns the keys of m by type, then name, so that chains
// are checked and renumbered in the same order on every run.
func sortedChainKeys[V any](m map[chainKey]V) []chainKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b chainKey) int {
		return cmp.Or(cmp.Compare(a.typ, b.typ), cmp.Compare(a.name, b.name))
	})
}

// chainState is what the import learnt about a chain whose numbering
// conflicts: the smallest conflicting number, and the numbers the file gave
// members that the database numbers otherwise or that were taken.
type chainState struct {
	from   int64
	claims map[string]int64
}

func (im *importer) conflict(k chainKey, at int64, id string, claim int64) {
	cs := im.chains[k]
	if cs == nil {
		cs = &chainState{from: at, claims: map[string]int64{}}
		im.chains[k] = cs
	}
	cs.from = min(cs.from, at)
	cs.claims[id] = claim
}

// Version numbers at and above placeholderBase are never real: a chain
// member whose number is taken waits there until renumber gives it one.
const (
	placeholderBase = int64(1) << 40
	movingBase      = int64(1) << 41
)

func (im *importer) resource(r resourceRec) error {
	if r.ID == "" {
		return im.errf("a resource needs an id")
	}
	if err := checkAll(rules.ID("resource", r.ID), rules.Type(r.Type), rules.Name(r.Type, r.Name), rules.Status(r.Status)); err != nil {
		return im.ruleErr(fmt.Errorf("resource %s: %w", r.ID, err))
	}
	head, isChain := rules.ChainHead(r.Type)
	switch {
	case isChain && (r.Version == nil || *r.Version <= 0 || *r.Version >= placeholderBase || r.Parent == ""):
		return im.errf("resource %s: a %s needs a positive version and its %s as parent", r.ID, r.Type, head)
	case !isChain && r.Version != nil:
		return im.errf("resource %s: only chain types (<kind>_version) have versions, not %s", r.ID, r.Type)
	}
	attrs := "{}"
	if len(r.Attrs) > 0 {
		if err := rules.Object("attrs", "attribute key", r.Attrs); err != nil {
			return im.ruleErr(fmt.Errorf("resource %s: %w", r.ID, err))
		}
		attrs = string(r.Attrs)
	}
	if !isChain && r.Parent == "" && rules.NeedsModelVersionParent(r.Type) {
		return im.ruleErr(fmt.Errorf("%w: resource %s: a %s hangs under a model_version (an experiment also under a sweep), and has no parent", rules.ErrInvalidArgument, r.ID, r.Type))
	}
	var parent sql.NullInt64
	if r.Parent != "" {
		seq, err := im.resourceSeq(r.Parent, "parent")
		if err != nil {
			return err
		}
		parent = sql.NullInt64{Int64: seq, Valid: true}
		if isChain || rules.NeedsModelVersionParent(r.Type) {
			var p resRow
			if err := im.get(&p, im.sql.ResourceRowBySeq, seq); err != nil {
				return err
			}
			if isChain && (p.Type != head || p.Name != r.Name || p.ParentSeq.Valid) {
				return im.errf("resource %s: the parent of %s %q must be the %s %q, not the %s %q", r.ID, r.Type, r.Name, head, r.Name, p.Type, p.Name)
			}
			if !isChain && !rules.ParentAllowed(r.Type, p.Type) {
				return im.ruleErr(fmt.Errorf("%w: resource %s: a %s hangs under a model_version (an experiment also under a sweep), and its parent %s is a %s",
					rules.ErrInvalidArgument, r.ID, r.Type, r.Parent, p.Type))
			}
		}
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	in := resRow{ID: r.ID, Type: r.Type, Name: r.Name, Version: nullInt(r.Version), ParentSeq: parent, Status: r.Status,
		Attrs: attrs, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, StartedAt: nullInt(r.StartedAt), EndedAt: nullInt(r.EndedAt),
		DeletedAt: nullInt(r.DeletedAt)}
	if run != nil {
		in.RunSeq = sql.NullInt64{Int64: run.(int64), Valid: true}
	}

	var ex resRow
	ok, err := found(im.get(&ex, im.sql.ResourceRowByID, r.ID))
	if err != nil {
		return err
	}
	if ok {
		if ex.Type != in.Type || ex.Name != in.Name || ex.ParentSeq != in.ParentSeq {
			return im.errf("resource %s is the %s %q here and the %s %q in the file, or has another parent", r.ID, ex.Type, ex.Name, in.Type, in.Name)
		}
		if isChain {
			im.touchChain(chainKey{in.Type, in.Name})
		}
		if isChain && ex.Version.Int64 != in.Version.Int64 {
			im.conflict(chainKey{in.Type, in.Name}, min(ex.Version.Int64, in.Version.Int64), in.ID, in.Version.Int64)
		}
		return im.mergeResource(ex, in)
	}

	if isChain {
		im.touchChain(chainKey{in.Type, in.Name})
		var other int64
		taken, err := found(im.get(&other, im.sql.ChainMemberSeq, in.Type, in.Name, in.Version.Int64))
		if err != nil {
			return err
		}
		if taken {
			im.conflict(chainKey{in.Type, in.Name}, in.Version.Int64, in.ID, in.Version.Int64)
			im.placeholder++
			in.Version.Int64 = placeholderBase + im.placeholder
		}
		im.newMembers[in.ID] = true
		return im.insertResource(in)
	}

	// The same name among the roots of a type, or among the children of
	// one parent, is the same resource.
	if parent.Valid {
		ok, err = found(im.get(&ex, im.sql.ChildRowByName, parent.Int64, in.Type, in.Name))
	} else {
		ok, err = found(im.get(&ex, im.sql.RootRowByName, in.Type, in.Name))
	}
	if err != nil {
		return err
	}
	if ok {
		return im.unify(ex, in)
	}
	return im.insertResource(in)
}

func (im *importer) insertResource(in resRow) error {
	return im.added(im.exec(im.sql.AddResource, in.ID, in.Type, in.Name, nullable(in.Version), nullable(in.ParentSeq), in.Status, in.Attrs,
		nullable(in.RunSeq), in.CreatedAt, in.UpdatedAt, nullable(in.StartedAt), nullable(in.EndedAt), nullable(in.DeletedAt)))
}

// unify makes the resource of the file and the database's resource of the
// same name one: the one created first (then the smaller id) keeps its id,
// creation time and run; the mutable fields merge as for one resource.
func (im *importer) unify(ex, in resRow) error {
	winner, loser := ex, in
	if in.CreatedAt < ex.CreatedAt || (in.CreatedAt == ex.CreatedAt && in.ID < ex.ID) {
		winner, loser = in, ex
		if err := im.updated(im.exec(im.sql.AdoptResource,
			in.ID, in.CreatedAt, nullable(in.RunSeq), ex.Seq)); err != nil {
			return err
		}
		ex.ID, ex.CreatedAt, ex.RunSeq = in.ID, in.CreatedAt, in.RunSeq
	} else {
		im.aliases[in.ID] = ex.Seq
	}
	inserted, err := im.note(derivedID(ChangeUnified, winner.ID, loser.ID), ex.Seq, max(winner.CreatedAt, loser.CreatedAt),
		ChangeUnified, "", map[string]string{"id": loser.ID}, map[string]string{"id": winner.ID})
	if err != nil {
		return err
	}
	if inserted {
		im.stats.Unified++
	}
	return im.mergeResource(ex, in)
}

// resourceLess orders the mutable states of a resource: the later
// updated_at wins, ties are broken by comparing the values.
func resourceLess(a, b resRow) bool {
	if a.UpdatedAt != b.UpdatedAt {
		return a.UpdatedAt < b.UpdatedAt
	}
	if a.Status != b.Status {
		return a.Status < b.Status
	}
	if a.Attrs != b.Attrs {
		return a.Attrs < b.Attrs
	}
	if c := cmpNull(a.StartedAt, b.StartedAt); c != 0 {
		return c < 0
	}
	return cmpNull(a.EndedAt, b.EndedAt) < 0
}

// cmpNull compares nullable numbers, NULL first.
func cmpNull(a, b sql.NullInt64) int {
	switch {
	case a.Valid != b.Valid && !a.Valid:
		return -1
	case a.Valid != b.Valid:
		return 1
	case a.Int64 < b.Int64:
		return -1
	case a.Int64 > b.Int64:
		return 1
	}
	return 0
}

func (im *importer) mergeResource(ex, in resRow) error {
	if !resourceLess(ex, in) {
		return nil
	}
	return im.updated(im.exec(im.sql.UpdateResourceState,
		in.Status, in.Attrs, nullable(in.StartedAt), nullable(in.EndedAt), in.UpdatedAt, ex.Seq))
}

// renumber gives the members of every chain whose numbering conflicted
// consecutive numbers from the first conflicting one on, in the order of
// their creation (then of their ids), and records each change.
func (im *importer) renumber() error {
	keys := sortedChainKeys(im.chains)
	for _, k := range keys {
		cs := im.chains[k]
		var members []resRow
		if err := im.tx.Select(im.ctx, &members, im.sql.ChainFrom, k.typ, k.name, cs.from); err != nil {
			return err
		}
		var newest int64
		for _, m := range members {
			newest = max(newest, m.CreatedAt)
		}
		// The numbers to hand out: from cs.from on, skipping those of purged
		// members, which stay taken.
		var purged []int64
		if err := sqlx.SelectContext(im.ctx, im.tx, &purged, im.sql.PurgedFrom, k.typ, k.name, cs.from); err != nil {
			return err
		}
		numbers := make([]int64, 0, len(members))
		for n := cs.from; len(numbers) < len(members); n++ {
			if len(purged) > 0 && purged[0] == n {
				purged = purged[1:]
				continue
			}
			numbers = append(numbers, n)
		}
		// Move the members that change out of the way, then into place.
		for i, m := range members {
			if m.Version.Int64 != numbers[i] {
				if _, err := im.exec(im.sql.Renumber, movingBase+int64(i), m.Seq); err != nil {
					return err
				}
			}
		}
		for i, m := range members {
			final := numbers[i]
			if m.Version.Int64 != final {
				if _, err := im.exec(im.sql.Renumber, final, m.Seq); err != nil {
					return err
				}
			}
			// Every number either file gave the member, if not its new one.
			var olds []int64
			if m.Version.Int64 < placeholderBase {
				olds = append(olds, m.Version.Int64)
			}
			// The file's number counts only for a member this import adds:
			// one that was here already kept the number it had here, and
			// the import that gave it that number reported the change.
			if c, ok := cs.claims[m.ID]; ok && c != m.Version.Int64 && (m.Version.Int64 >= placeholderBase || im.newMembers[m.ID]) {
				olds = append(olds, c)
			}
			for i, old := range olds {
				if old == final {
					continue
				}
				// olds[0] is the number here, unless the file added the
				// member: then every old number is the file's.
				incoming := i > 0 || im.newMembers[m.ID]
				im.stats.Renumberings = append(im.stats.Renumberings,
					Renumbering{ID: m.ID, Type: k.typ, Name: k.name, Old: old, New: final, Incoming: incoming})
				if _, err := im.note(derivedID(ChangeRenumbered, m.ID, fmt.Sprint(old), fmt.Sprint(final)), m.Seq, newest,
					ChangeRenumbered, "version", old, final); err != nil {
					return err
				}
			}
			// Renumbered: its number here changed, or it arrived with a
			// number it did not keep.
			if m.Version.Int64 < placeholderBase && m.Version.Int64 != final {
				im.stats.Renumbered++
			} else if c, ok := cs.claims[m.ID]; ok && m.Version.Int64 >= placeholderBase && c != final {
				im.stats.Renumbered++
			}
		}
	}
	return nil
}

// ---- Tags, metadata, version-control records ----

// valueLess orders two states of a keyed value: the later updated_at
// wins, ties are broken by comparing the values and then the runs' ids.
func valueLess(aAt int64, a []string, bAt int64, b []string) bool {
	if aAt != bAt {
		return aAt < bAt
	}
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

type keyedRow struct {
	A         string        `db:"a"`
	B         string        `db:"b"`
	RunSeq    sql.NullInt64 `db:"run_seq"`
	UpdatedAt int64         `db:"updated_at"`
}

func (im *importer) tag(r tagRec) error {
	if r.Key == "" {
		return im.errf("a tag needs a key")
	}
	if err := checkAll(rules.Key("tag key", r.Key), rules.TagValue(r.Value)); err != nil {
		return im.ruleErr(fmt.Errorf("tag of %s: %w", r.Resource, err))
	}
	seq, err := im.resourceSeq(r.Resource, "resource")
	if err != nil {
		return err
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	var ex keyedRow
	ok, err := found(im.get(&ex, im.sql.TagEntryOf, seq, r.Key))
	if err != nil {
		return err
	}
	if !ok {
		return im.added(im.exec(im.sql.AddTag,
			seq, r.Key, r.Value, run, r.UpdatedAt))
	}
	exRun, err := im.runID(ex.RunSeq)
	if err != nil {
		return err
	}
	if valueLess(ex.UpdatedAt, []string{ex.A, exRun}, r.UpdatedAt, []string{r.Value, r.Run}) {
		return im.updated(im.exec(im.sql.UpdateTag,
			r.Value, run, r.UpdatedAt, seq, r.Key))
	}
	return nil
}

// metadataColumns returns the indexed copies of a top-level number or
// string, as the tracker stores them.
func metadataColumns(v json.RawMessage) (num, str any) {
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			str = s
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var f float64
		if json.Unmarshal(v, &f) == nil {
			num = f
		}
	}
	return num, str
}

func (im *importer) metadata(r metadataRec) error {
	if r.Key == "" || len(r.Value) == 0 {
		return im.errf("metadata needs a key and a value")
	}
	if err := rules.Metadata(r.Key, r.Value); err != nil {
		return im.ruleErr(fmt.Errorf("metadata of %s: %w", r.Resource, err))
	}
	seq, err := im.resourceSeq(r.Resource, "resource")
	if err != nil {
		return err
	}
	if r.Key == metadataWinner {
		if err := im.winnerMetadata(seq, r.Value); err != nil {
			return err
		}
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	value := string(r.Value)
	num, str := metadataColumns(r.Value)
	var ex keyedRow
	ok, err := found(im.get(&ex, im.sql.MetadataEntryOf, seq, r.Key))
	if err != nil {
		return err
	}
	if !ok {
		return im.added(im.exec(im.sql.AddMetadata,
			seq, r.Key, value, num, str, run, r.UpdatedAt))
	}
	exRun, err := im.runID(ex.RunSeq)
	if err != nil {
		return err
	}
	if valueLess(ex.UpdatedAt, []string{ex.A, exRun}, r.UpdatedAt, []string{value, r.Run}) {
		return im.updated(im.exec(im.sql.UpdateMetadata,
			value, num, str, run, r.UpdatedAt, seq, r.Key))
	}
	return nil
}

func (im *importer) vcInfo(r vcInfoRec) error {
	if len(r.Info) == 0 || r.Info[0] != '{' {
		return im.errf("vc_info needs info, a JSON object")
	}
	extra := "{}"
	if len(r.Extra) > 0 {
		extra = string(r.Extra)
	}
	if err := checkAll(rules.Key("version-control key", r.Key), rules.VCInfo(r.Info, []byte(extra))); err != nil {
		return im.ruleErr(fmt.Errorf("vc_info of %s: %w", r.Resource, err))
	}
	seq, err := im.resourceSeq(r.Resource, "resource")
	if err != nil {
		return err
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	info := string(r.Info)
	var ex keyedRow
	ok, err := found(im.get(&ex, im.sql.VCInfoEntryOf, seq, r.Key))
	if err != nil {
		return err
	}
	if !ok {
		return im.added(im.exec(im.sql.AddVCInfo,
			seq, r.Key, info, extra, run, r.UpdatedAt))
	}
	exRun, err := im.runID(ex.RunSeq)
	if err != nil {
		return err
	}
	if valueLess(ex.UpdatedAt, []string{ex.A, ex.B, exRun}, r.UpdatedAt, []string{info, extra, r.Run}) {
		return im.updated(im.exec(im.sql.UpdateVCInfo,
			info, extra, run, r.UpdatedAt, seq, r.Key))
	}
	return nil
}

// tombstones removes the tags whose deletion the history records after
// the tag's last change: a tag deleted in one file and older in the other
// stays deleted.
func (im *importer) tombstones() error {
	res, err := im.exec(im.sql.DropTombstonedTags)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	im.stats.Updated += n
	return err
}

// ---- Artifacts ----

type artRow struct {
	Seq         int64         `db:"seq"`
	ID          string        `db:"id"`
	ResourceSeq int64         `db:"resource_seq"`
	Name        string        `db:"name"`
	Kind        string        `db:"kind"`
	CheckType   string        `db:"check_type"`
	MediaType   string        `db:"media_type"`
	Size        int64         `db:"size"`
	SHA256      string        `db:"sha256"`
	BlobSeq     sql.NullInt64 `db:"blob_seq"`
	URI         string        `db:"uri"`
	SourcePath  string        `db:"source_path"`
	RunSeq      sql.NullInt64 `db:"run_seq"`
	CreatedAt   int64         `db:"created_at"`
}

func (im *importer) artifact(r artifactRec) error {
	if r.ID == "" || r.Name == "" || r.ArtifactKind == "" {
		return im.errf("an artifact needs an id, a name and an artifact_kind")
	}
	if r.Blob == "" && r.URI == "" {
		return im.errf("artifact %s has neither bytes (blob) nor a uri", r.ID)
	}
	if err := checkAll(rules.ID("artifact", r.ID), rules.ArtifactName(r.Name), rules.ArtifactKind(r.ArtifactKind, r.CheckType),
		rules.Artifact(r.Blob != "", r.Size, r.SHA256, r.MediaType, r.URI, r.SourcePath)); err != nil {
		return im.ruleErr(fmt.Errorf("artifact %s: %w", r.ID, err))
	}
	seq, err := im.resourceSeq(r.Resource, "resource")
	if err != nil {
		return err
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	var blob any
	if r.Blob != "" {
		var b struct {
			Seq  int64 `db:"seq"`
			Size int64 `db:"size"`
		}
		ok, err := found(im.get(&b, im.sql.BlobSize, r.Blob))
		if err != nil {
			return err
		}
		if !ok {
			return im.errf("artifact %s: blob %s is neither in the file nor in the database", r.ID, r.Blob)
		}
		if r.SHA256 != r.Blob || r.Size != b.Size {
			return im.errf("artifact %s: sha256 %s and size %d do not match its blob %s of %d bytes", r.ID, r.SHA256, r.Size, r.Blob, b.Size)
		}
		blob = b.Seq
	}
	key := func(a artifactRec) []string {
		return []string{a.SHA256, fmt.Sprint(a.Size), a.URI, a.ArtifactKind, a.CheckType, a.MediaType, a.SourcePath, a.Run, a.ID}
	}
	var ex artRow
	ok, err := found(im.get(&ex, im.sql.ArtifactRowByID, r.ID))
	if err != nil {
		return err
	}
	if ok && (ex.ResourceSeq != seq || ex.Name != r.Name) {
		return im.errf("artifact %s is %q of another resource here, or has another name", r.ID, ex.Name)
	}
	if !ok {
		// The name is the artifact's key on its resource too.
		if ok, err = found(im.get(&ex, im.sql.ArtifactRowByName, seq, r.Name)); err != nil {
			return err
		}
	}
	if !ok {
		return im.added(im.exec(im.sql.AddArtifact,
			r.ID, seq, r.Name, r.ArtifactKind, r.CheckType, r.MediaType, r.Size, r.SHA256, blob, r.URI, r.SourcePath, run, r.CreatedAt))
	}
	exRun, err := im.runID(ex.RunSeq)
	if err != nil {
		return err
	}
	exRec := artifactRec{ID: ex.ID, ArtifactKind: ex.Kind, CheckType: ex.CheckType, MediaType: ex.MediaType, Size: ex.Size,
		SHA256: ex.SHA256, URI: ex.URI, SourcePath: ex.SourcePath, Run: exRun}
	if !valueLess(ex.CreatedAt, key(exRec), r.CreatedAt, key(r)) {
		return nil
	}
	return im.updated(im.exec(im.sql.UpdateArtifact,
		r.ID, r.ArtifactKind, r.CheckType, r.MediaType, r.Size, r.SHA256, blob, r.URI, r.SourcePath, run, r.CreatedAt, ex.Seq))
}

// ---- Edges ----

// relationWinner is the relation of which a resource has at most one.
const relationWinner = "winning_experiment"

func (im *importer) edge(r edgeRec) error {
	if r.Relation == "" {
		return im.errf("an edge needs a relation")
	}
	if err := rules.Word("relation", r.Relation); err != nil {
		return im.ruleErr(err)
	}
	src, err := im.resourceSeq(r.Src, "src")
	if err != nil {
		return err
	}
	dst, err := im.resourceSeq(r.Dst, "dst")
	if err != nil {
		return err
	}
	if err := im.edgeShape(src, dst, r); err != nil {
		return err
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	var ex struct {
		RunSeq    sql.NullInt64 `db:"run_seq"`
		CreatedAt int64         `db:"created_at"`
	}
	ok, err := found(im.get(&ex, im.sql.EdgeOf, src, r.Relation, dst))
	if err != nil {
		return err
	}
	if ok {
		// The same edge recorded on both sides: the first recording stays.
		exRun, err := im.runID(ex.RunSeq)
		if err != nil {
			return err
		}
		if valueLess(r.CreatedAt, []string{r.Run}, ex.CreatedAt, []string{exRun}) {
			return im.updated(im.exec(im.sql.UpdateEdge,
				r.CreatedAt, run, src, r.Relation, dst))
		}
		return nil
	}
	if r.Relation == relationWinner {
		// One winner: the one chosen last (then the larger id) stays.
		var cur struct {
			DstSeq    int64  `db:"dst_seq"`
			DstID     string `db:"dst_id"`
			CreatedAt int64  `db:"created_at"`
		}
		ok, err := found(im.get(&cur, im.sql.EdgeFrom, src, r.Relation))
		if err != nil {
			return err
		}
		if ok {
			if !valueLess(cur.CreatedAt, []string{cur.DstID}, r.CreatedAt, []string{r.Dst}) {
				return nil
			}
			if _, err := im.exec(im.sql.DeleteEdge, src, r.Relation, cur.DstSeq); err != nil {
				return err
			}
			return im.updated(im.insertEdge(src, dst, r.Relation, run, r.CreatedAt))
		}
	}
	return im.added(im.insertEdge(src, dst, r.Relation, run, r.CreatedAt))
}

func (im *importer) insertEdge(src, dst int64, relation string, run any, createdAt int64) (sql.Result, error) {
	return im.exec(im.sql.AddEdge,
		src, dst, relation, run, createdAt)
}

// ---- Deployments ----

type depRow struct {
	Seq             int64         `db:"seq"`
	ID              string        `db:"id"`
	ModelSeq        int64         `db:"model_seq"`
	ModelVersionSeq int64         `db:"model_version_seq"`
	Environment     string        `db:"environment"`
	DeployedAt      int64         `db:"deployed_at"`
	UndeployedAt    sql.NullInt64 `db:"undeployed_at"`
}

func (im *importer) deployment(r deploymentRec) error {
	if r.ID == "" || r.Environment == "" {
		return im.errf("a deployment needs an id and an environment")
	}
	if err := checkAll(rules.ID("deployment", r.ID), rules.Environment(r.Environment)); err != nil {
		return im.ruleErr(fmt.Errorf("deployment %s: %w", r.ID, err))
	}
	model, err := im.resourceSeq(r.Model, "model")
	if err != nil {
		return err
	}
	mv, err := im.resourceSeq(r.ModelVersion, "model_version")
	if err != nil {
		return err
	}
	var shape struct {
		Parent    sql.NullInt64 `db:"parent_seq"`
		Type      string        `db:"type"`
		ModelType string        `db:"model_type"`
	}
	if err := im.get(&shape, im.sql.DeploymentShape, mv, model); err != nil {
		return err
	}
	if shape.Type != rules.TypeModelVersion || shape.ModelType != rules.TypeModel {
		return im.ruleErr(fmt.Errorf("%w: deployment %s deploys a %s of a %s, not a model_version of a model", rules.ErrInvalidArgument, r.ID, shape.Type, shape.ModelType))
	}
	if shape.Parent.Int64 != model {
		return im.errf("deployment %s: %s is not a version of %s", r.ID, r.ModelVersion, r.Model)
	}
	if r.UndeployedAt != nil && *r.UndeployedAt < r.DeployedAt {
		return im.errf("deployment %s ends before it starts", r.ID)
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	in := depRow{ID: r.ID, ModelSeq: model, ModelVersionSeq: mv, Environment: r.Environment, DeployedAt: r.DeployedAt,
		UndeployedAt: nullInt(r.UndeployedAt)}

	var ex depRow
	ok, err := found(im.get(&ex, im.sql.DeploymentByID, r.ID))
	if err != nil {
		return err
	}
	if ok {
		if ex.ModelSeq != model || ex.ModelVersionSeq != mv || ex.Environment != in.Environment || ex.DeployedAt != in.DeployedAt {
			return im.errf("deployment %s records another version, environment or time here", r.ID)
		}
		// An interval closed on either side is closed, at the earlier end.
		if in.UndeployedAt.Valid && (!ex.UndeployedAt.Valid || in.UndeployedAt.Int64 < ex.UndeployedAt.Int64) {
			return im.updated(im.exec(im.sql.Undeploy, in.UndeployedAt.Int64, ex.Seq))
		}
		return nil
	}

	// At most one deployment is open per model and environment: the one
	// deployed last (then the larger id) stays open, the other ends when
	// it began.
	var closeMine *depRow
	if !in.UndeployedAt.Valid {
		var cur depRow
		ok, err := found(im.get(&cur, im.sql.OpenDeployment, model, in.Environment))
		if err != nil {
			return err
		}
		if ok {
			if cur.DeployedAt > in.DeployedAt || (cur.DeployedAt == in.DeployedAt && cur.ID > in.ID) {
				in.UndeployedAt = sql.NullInt64{Int64: cur.DeployedAt, Valid: true}
				closeMine = &in
			} else {
				if _, err := im.exec(im.sql.Undeploy, in.DeployedAt, cur.Seq); err != nil {
					return err
				}
				cur.UndeployedAt = sql.NullInt64{Int64: in.DeployedAt, Valid: true}
				if err := im.insertDeployment(in, run); err != nil {
					return err
				}
				return im.closed(cur)
			}
		}
	}
	if err := im.insertDeployment(in, run); err != nil {
		return err
	}
	if closeMine != nil {
		return im.closed(*closeMine)
	}
	return nil
}

func (im *importer) insertDeployment(in depRow, run any) error {
	return im.added(im.exec(im.sql.AddDeployment, in.ID, in.ModelSeq, in.ModelVersionSeq, in.Environment, in.DeployedAt, nullable(in.UndeployedAt), run))
}

// closed records that the import ended deployment d, as Deploy would
// have: "undeployed" on the version and its model, and the version
// DEMOTED unless it is still deployed somewhere.
func (im *importer) closed(d depRow) error {
	at := d.UndeployedAt.Int64
	var mv, model resRow
	if err := im.get(&mv, im.sql.ResourceRowBySeq, d.ModelVersionSeq); err != nil {
		return err
	}
	if err := im.get(&model, im.sql.ResourceRowBySeq, d.ModelSeq); err != nil {
		return err
	}
	rec := map[string]any{"environment": d.Environment, "model_version": mv.ID, "deployment": d.ID}
	for _, r := range []resRow{mv, model} {
		if _, err := im.note(derivedID(changeUndeployed, d.ID, r.ID), r.Seq, at, changeUndeployed, d.Environment, nil, rec); err != nil {
			return err
		}
	}
	im.stats.Closed++
	var open int
	if err := im.get(&open, im.sql.OpenDeployments, mv.Seq); err != nil {
		return err
	}
	if open > 0 || mv.Status != "DEPLOYED" {
		return nil
	}
	// The change must win over the state it replaces wherever that comes
	// from, so its time is after the version's last change.
	updatedAt := max(mv.UpdatedAt+1, at)
	if _, err := im.exec(im.sql.Demote, updatedAt, mv.Seq); err != nil {
		return err
	}
	_, err := im.note(derivedID(changeStatus, d.ID, mv.ID), mv.Seq, at, changeStatus, "", "DEPLOYED", "DEMOTED")
	return err
}

// ---- History ----

// migratedID reports whether id was given to an entry by migration 0002
// (32 hex digits), rather than by a tracker (a UUID).
func migratedID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func (im *importer) history(r historyRec) error {
	if r.ID == "" || r.Change == "" {
		return im.errf("a history entry needs an id and a change")
	}
	if err := im.historyRules(r); err != nil {
		return im.ruleErr(fmt.Errorf("history entry %s: %w", r.ID, err))
	}
	if r.Actor != "" && im.header.Version < 3 {
		return im.errf("history entry %s: the actor field is new in format version 3; this file is version %d", r.ID, im.header.Version)
	}
	seq, err := im.resourceSeq(r.Resource, "resource")
	if err != nil {
		return err
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	var old, nw any
	if r.Old != nil {
		old = string(r.Old)
	}
	if r.New != nil {
		nw = string(r.New)
	}
	if migratedID(r.ID) {
		// Entries older than their ids were numbered at random by each
		// copy of a file: the same entry under another such id is the
		// same entry.
		var n int
		if err := im.get(&n, im.sql.HistoryKnown,
			r.ID, seq, r.Change, r.Key, r.At, run, old, nw); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	var actor any
	if r.Actor != "" {
		actor = r.Actor
	}
	im.noteReconcile(seq, r.Change)
	return im.added(im.exec(im.sql.AddHistory, r.ID, seq, r.At, run, actor, r.Change, r.Key, old, nw))
}
