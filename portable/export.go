package portable

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage"
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Filter, a query in the language of package query, selects the
	// resources to export; the export adds what they need (see the package
	// documentation). Empty exports everything. ORDER BY and LIMIT are not
	// allowed.
	Filter string
	// Now is the clock of relative times in Filter (now-7d) and of the
	// header's created_at. Nil means time.Now.
	Now func() time.Time
	// Resolve turns the reference of upstream_of and downstream_of in Filter
	// into a resource seq. Nil makes those predicates an error.
	Resolve func(ref string) (int64, error)
	// NoLineage leaves out what a filtered export adds from the lineage
	// graph (see the package documentation): only the selected resources,
	// their ancestors and their chains' earlier members are exported.
	NoLineage bool
	// Progress, if set, is called after each record with the number of
	// records written and the number the export holds.
	Progress Progress
}

// Export writes the database d, or the part of it that opts.Filter selects,
// to w in the export format (see FORMAT.md). It reads one consistent
// snapshot, so writers in this and other processes go on meanwhile, and
// streams: memory use does not grow with the size of the database. Artifact
// bytes are checked against their SHA-256 as they are read; a mismatch stops
// the export with an error that matches storage.ErrCorrupt.
//
// The snapshot is held only while the records are read, which go to a
// temporary file (in os.TempDir) meanwhile; the artifact bytes, which make
// most of a large export, are read after it, one chunk per short read, so
// that an export of any size never keeps the write-ahead log from being
// checkpointed and restarted. Stored bytes never change; bytes removed
// while the export runs (their artifact replaced, then gc) stop it with an
// error that matches storage.ErrConflict.
func Export(ctx context.Context, d storage.Engine, w io.Writer, opts ExportOptions) (Stats, error) {
	var q *query.Query
	if opts.Filter != "" {
		var err error
		if q, err = query.Parse(opts.Filter); err != nil {
			return Stats{}, fmt.Errorf("export filter: %w", err)
		}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	spool, err := os.CreateTemp("", "metatrack-export-*.ndjson")
	if err != nil {
		return Stats{}, fmt.Errorf("portable: export: %w", d.Classify(err))
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	e := &exporter{ctx: ctx, d: d, bw: bufio.NewWriterSize(spool, 1<<20), progress: opts.Progress}
	e.enc = json.NewEncoder(&e.line)
	e.enc.SetEscapeHTML(false)
	err = d.ReadTx(ctx, func(tx storage.Tx) error {
		e.tx = tx
		if q != nil {
			if err := e.selectResources(q, query.Options{Dialect: d.Dialect(), Now: now, Resolve: opts.Resolve}, !opts.NoLineage); err != nil {
				return err
			}
		}
		return e.run(opts.Filter, now().UnixMilli())
	})
	e.tx = nil
	if err == nil {
		err = e.bw.Flush()
	}
	if err != nil {
		return e.stats, d.Classify(err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	e.bw = bw
	if err := e.finish(spool); err != nil {
		return e.stats, err
	}
	return e.stats, bw.Flush()
}

// finish writes the header, the artifact bytes, the records spooled
// from the snapshot and the end record to e.bw.
func (e *exporter) finish(spool *os.File) error {
	if err := e.write(e.header); err != nil {
		return err
	}
	if e.progress != nil {
		e.progress(e.stats.Records, e.total)
	}
	for _, b := range e.blobs {
		rec := blobRec{Kind: KindBlob, SHA256: b.sha, Size: b.size, ChunkSize: b.chunkSize, Chunks: b.chunks, CreatedAt: b.createdAt}
		if err := e.emit(KindBlob, rec); err != nil {
			return err
		}
		if err := e.writeChunks(b); err != nil {
			return err
		}
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(e.bw, spool); err != nil {
		return err
	}
	if e.stats.Records != e.total {
		// Resources outside the tree of parents (a cycle) are not written.
		return fmt.Errorf("%w: the export wrote %d records of %d; are parents of resources in a cycle?", storage.ErrCorrupt, e.stats.Records, e.total)
	}
	return e.write(endRec{Kind: KindEnd, Records: e.stats.Records})
}

type exporter struct {
	ctx      context.Context
	d        storage.Engine
	tx       storage.Tx // the snapshot, while the records are read
	header   headerRec
	blobs    []blobInfo // the blobs to export, listed in the snapshot
	bw       *bufio.Writer
	line     bytes.Buffer  // the record being encoded
	enc      *json.Encoder // encodes into line
	progress Progress
	// set is the JSON array of the seqs of the exported resources, or ""
	// when everything is exported; stubs that of the chain members
	// exported bare.
	set   string
	stubs string
	total int64
	stats Stats
}

// selectResources computes the exported resources: those the filter
// matches and all their ancestors; with lineage, also what they were made
// from (the sources of the edges into them) and the winning experiments of
// the model versions among them, and so on, to the closure.
func (e *exporter) selectResources(q *query.Query, opts query.Options, lineage bool) error {
	cond, err := query.Where(q, opts)
	if err != nil {
		return fmt.Errorf("export filter: %w", err)
	}
	where, args, err := cond.ToSql()
	if err != nil {
		return err
	}
	upstream := ""
	if lineage {
		upstream = `
		UNION SELECT e.src_seq FROM edges e JOIN sel ON e.dst_seq = sel.seq
		UNION SELECT e.dst_seq FROM edges e JOIN sel ON e.src_seq = sel.seq WHERE e.relation = 'winning_experiment'`
	}
	rows, err := e.tx.QueryContext(e.ctx, `WITH RECURSIVE sel(seq) AS (
		SELECT r.seq FROM resources r WHERE `+where+`
		UNION SELECT p.parent_seq FROM resources p JOIN sel ON p.seq = sel.seq WHERE p.parent_seq IS NOT NULL`+upstream+`)
		SELECT seq FROM sel ORDER BY seq`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteByte('[')
	for n := 0; rows.Next(); n++ {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return err
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(seq, 10))
	}
	b.WriteByte(']')
	e.set = b.String()
	if err := rows.Err(); err != nil {
		return err
	}
	// The earlier members of the selected chain members' chains come
	// along as bare resources, so that chains stay numbered from 1
	// without gaps in the file that imports the export.
	var stubs []int64
	if err := sqlx.SelectContext(e.ctx, e.tx, &stubs, `SELECT c.seq FROM resources c
		WHERE c.version IS NOT NULL AND c.seq NOT IN (SELECT value FROM json_each(?))
		AND EXISTS (SELECT 1 FROM resources s WHERE s.seq IN (SELECT value FROM json_each(?))
			AND s.type = c.type AND s.name = c.name AND s.version > c.version)
		ORDER BY c.seq`, e.set, e.set); err != nil {
		return err
	}
	e.stubs = "[]"
	if len(stubs) > 0 {
		b, _ := json.Marshal(stubs)
		e.stubs = string(b)
	}
	return nil
}

// inResources returns the condition that col is the seq of an exported
// resource or of a bare one.
func (e *exporter) inResources(col string) (string, []any) {
	if e.set == "" {
		return "1", nil
	}
	return "(" + col + " IN (SELECT value FROM json_each(?)) OR " + col + " IN (SELECT value FROM json_each(?)))", []any{e.set, e.stubs}
}

// edgeCond selects the edges among exported resources, and the version
// edges of bare chain members.
func (e *exporter) edgeCond() (string, []any) {
	if e.set == "" {
		return "1", nil
	}
	s, a := e.ins("e.src_seq", "e.dst_seq")
	return "((" + s + ") OR (e.relation = 'version' AND e.dst_seq IN (SELECT value FROM json_each(?))))", append(a, e.stubs)
}

// in returns the condition that col is the seq of an exported resource.
func (e *exporter) in(col string) (string, []any) {
	if e.set == "" {
		return "1", nil
	}
	return col + " IN (SELECT value FROM json_each(?))", []any{e.set}
}

// ins joins the conditions on several columns with AND.
func (e *exporter) ins(cols ...string) (string, []any) {
	var conds []string
	var args []any
	for _, c := range cols {
		s, a := e.in(c)
		conds = append(conds, s)
		args = append(args, a...)
	}
	return strings.Join(conds, " AND "), args
}

// The queries of the sections. Each takes the condition of its rows; the
// counts use the same FROM and WHERE.
const (
	blobFrom = ` FROM blobs b WHERE b.sha256 IS NOT NULL AND `
	runFrom  = ` FROM runs WHERE `
	resFrom  = ` FROM resources r WHERE `
	tagFrom  = ` FROM tags t JOIN resources r ON r.seq = t.resource_seq LEFT JOIN runs run ON run.seq = t.run_seq WHERE `
	metaFrom = ` FROM metadata m JOIN resources r ON r.seq = m.resource_seq LEFT JOIN runs run ON run.seq = m.run_seq WHERE `
	vcFrom   = ` FROM vc_info v JOIN resources r ON r.seq = v.resource_seq LEFT JOIN runs run ON run.seq = v.run_seq WHERE `
	artFrom  = ` FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq
		LEFT JOIN runs run ON run.seq = a.run_seq WHERE `
	edgeFrom = ` FROM edges e JOIN resources s ON s.seq = e.src_seq JOIN resources d ON d.seq = e.dst_seq
		LEFT JOIN runs run ON run.seq = e.run_seq WHERE `
	depFrom = ` FROM deployments dp JOIN resources m ON m.seq = dp.model_seq JOIN resources mv ON mv.seq = dp.model_version_seq
		LEFT JOIN runs run ON run.seq = dp.run_seq WHERE `
	aliasFrom = ` FROM aliases al JOIN resources h ON h.seq = al.head_seq JOIN resources v ON v.seq = al.version_seq
		LEFT JOIN runs run ON run.seq = al.run_seq WHERE `
	purgedFrom = ` FROM purged pg LEFT JOIN runs run ON run.seq = pg.run_seq WHERE `
	histFrom   = ` FROM history h JOIN resources r ON r.seq = h.resource_seq LEFT JOIN runs run ON run.seq = h.run_seq WHERE `
)

// conditions of the sections on the exported resources.
func (e *exporter) blobCond() (string, []any) {
	if e.set == "" {
		return "1", nil
	}
	s, a := e.in("a.resource_seq")
	return "b.seq IN (SELECT a.blob_seq FROM artifacts a WHERE " + s + ")", a
}

// purgedCond selects the purged members of exported chains: their numbers
// stay taken in the file the export is imported into.
func (e *exporter) purgedCond() (string, []any) {
	if e.set == "" {
		return "1", nil
	}
	return "pg.parent_id IN (SELECT id FROM resources WHERE seq IN (SELECT value FROM json_each(?)))", []any{e.set}
}

func (e *exporter) runCond() (string, []any) {
	if e.set == "" {
		return "1", nil
	}
	parts := []string{"SELECT run_seq FROM resources WHERE run_seq IS NOT NULL AND seq IN (SELECT value FROM json_each(?))",
		"SELECT run_seq FROM deployments WHERE run_seq IS NOT NULL AND model_version_seq IN (SELECT value FROM json_each(?))"}
	args := []any{e.stubs, e.stubs}
	for _, p := range []struct{ table, cols string }{
		{"resources", "seq"}, {"tags", "resource_seq"}, {"metadata", "resource_seq"}, {"vc_info", "resource_seq"},
		{"artifacts", "resource_seq"}, {"edges", "src_seq,dst_seq"}, {"deployments", "model_version_seq"},
		{"history", "resource_seq"}, {"aliases", "head_seq,version_seq"},
	} {
		s, a := e.ins(strings.Split(p.cols, ",")...)
		parts = append(parts, "SELECT run_seq FROM "+p.table+" WHERE run_seq IS NOT NULL AND "+s)
		args = append(args, a...)
	}
	pc, pa := e.purgedCond()
	parts = append(parts, "SELECT pg.run_seq FROM purged pg WHERE pg.run_seq IS NOT NULL AND "+pc)
	args = append(args, pa...)
	return "seq IN (" + strings.Join(parts, " UNION ") + ")", args
}

func (e *exporter) run(filter string, now int64) error {
	type section struct {
		kind  string
		from  string
		cond  func() (string, []any)
		write func(where string, args []any) error
	}
	sections := []section{
		{KindBlob, blobFrom, e.blobCond, e.listBlobs},
		{KindRun, runFrom, e.runCond, e.writeRuns},
		{KindResource, resFrom, func() (string, []any) { return e.inResources("r.seq") }, e.writeResources},
		{KindTag, tagFrom, func() (string, []any) { return e.in("t.resource_seq") }, e.writeTags},
		{KindMetadata, metaFrom, func() (string, []any) { return e.in("m.resource_seq") }, e.writeMetadata},
		{KindVCInfo, vcFrom, func() (string, []any) { return e.in("v.resource_seq") }, e.writeVCInfo},
		{KindArtifact, artFrom, func() (string, []any) { return e.in("a.resource_seq") }, e.writeArtifacts},
		{KindEdge, edgeFrom, e.edgeCond, e.writeEdges},
		// The deployments of bare versions too: a bare version keeps its
		// status, and DEPLOYED needs its open deployment.
		{KindDeployment, depFrom, func() (string, []any) { return e.inResources("dp.model_version_seq") }, e.writeDeployments},
		{KindAlias, aliasFrom, func() (string, []any) { return e.ins("al.head_seq", "al.version_seq") }, e.writeAliases},
		{KindPurged, purgedFrom, e.purgedCond, e.writePurged},
		{KindHistory, histFrom, func() (string, []any) { return e.in("h.resource_seq") }, e.writeHistory},
		{KindMetric, metricFrom, e.metricCond, e.writeMetrics},
	}
	for _, s := range sections {
		where, args := s.cond()
		var n int64
		if err := sqlx.GetContext(e.ctx, e.tx, &n, "SELECT count(*)"+s.from+where, args...); err != nil {
			return err
		}
		e.total += n
		if s.kind == KindBlob {
			if err := sqlx.GetContext(e.ctx, e.tx, &n, "SELECT count(*) FROM blob_chunks c JOIN blobs b ON b.seq = c.blob_seq WHERE b.sha256 IS NOT NULL AND "+where, args...); err != nil {
				return err
			}
			e.total += n
		}
	}
	var schemaVersion int64
	if err := sqlx.GetContext(e.ctx, e.tx, &schemaVersion, "SELECT coalesce(max(version), 0) FROM schema_applied"); err != nil {
		return err
	}
	e.header = headerRec{Format: Format, Version: Version, Schema: schemaVersion, CreatedAt: now, Filter: filter, Records: e.total}
	if e.progress != nil {
		e.progress(0, e.total)
	}
	for _, s := range sections {
		where, args := s.cond()
		if err := s.write(where, args); err != nil {
			return err
		}
	}
	return nil
}

// write encodes rec as one line and writes it.
func (e *exporter) write(rec any) error {
	e.line.Reset()
	if err := e.enc.Encode(rec); err != nil {
		// The only values that can fail to encode are stored JSON texts.
		return fmt.Errorf("%w: %v", storage.ErrCorrupt, err)
	}
	_, err := e.bw.Write(e.line.Bytes())
	return err
}

// emit writes one record.
func (e *exporter) emit(kind string, rec any) error {
	if err := e.write(rec); err != nil {
		return fmt.Errorf("%s record: %w", kind, err)
	}
	return e.done(kind)
}

func (e *exporter) done(kind string) error {
	e.stats.count(kind)
	if e.progress != nil {
		e.progress(e.stats.Records, e.total)
	}
	if e.stats.Records%1024 == 0 {
		return e.ctx.Err()
	}
	return nil
}

// each runs a query and calls scan for every row.
func (e *exporter) each(query string, args []any, scan func(rows *sql.Rows) error) error {
	rows, err := e.tx.QueryContext(e.ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func ptr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func raw(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}

type blobInfo struct {
	seq       int64
	sha       string
	size      int64
	chunkSize int64
	chunks    int64
	createdAt int64
}

func validSHA(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size && strings.ToLower(s) == s
}

// listBlobs lists the blobs to export; their records and bytes are
// written after the snapshot (see finish).
func (e *exporter) listBlobs(where string, args []any) error {
	// The list of blobs is small (a few numbers each); their chunks are
	// read one at a time.
	err := e.each(`SELECT b.seq, b.sha256, b.size, b.chunk_size, b.created_at,
		(SELECT count(*) FROM blob_chunks c WHERE c.blob_seq = b.seq)`+blobFrom+where+` ORDER BY b.seq`, args,
		func(rows *sql.Rows) error {
			var b blobInfo
			if err := rows.Scan(&b.seq, &b.sha, &b.size, &b.chunkSize, &b.createdAt, &b.chunks); err != nil {
				return err
			}
			if !validSHA(b.sha) {
				return fmt.Errorf("%w: blob %d has the malformed SHA-256 %q", storage.ErrCorrupt, b.seq, b.sha)
			}
			e.blobs = append(e.blobs, b)
			return nil
		})
	return err
}

// writeChunks writes the chunk records of b, checking the bytes against
// its hash and size as they pass. Each chunk is one short read outside any
// transaction: the bytes of a stored blob never change, and its removal
// meanwhile is noticed.
func (e *exporter) writeChunks(b blobInfo) error {
	h := sha256.New()
	var size int64
	for idx := range b.chunks {
		var data []byte
		err := e.d.Reader().QueryRowxContext(e.ctx, `SELECT data FROM blob_chunks WHERE blob_seq = ? AND idx = ?`, b.seq, idx).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := e.d.Reader().QueryRowxContext(e.ctx, `SELECT count(*) FROM blobs WHERE seq = ? AND sha256 = ?`, b.seq, b.sha).Scan(&n); err != nil {
				return e.d.Classify(err)
			}
			if n == 0 {
				return fmt.Errorf("%w: the bytes of blob %s were removed (gc) while the export read them; export again", storage.ErrConflict, b.sha)
			}
			return fmt.Errorf("%w: blob %s: chunk %d is missing", storage.ErrCorrupt, b.sha, idx)
		}
		if err != nil {
			return e.d.Classify(err)
		}
		h.Write(data)
		size += int64(len(data))
		e.bw.WriteString(`{"kind":"chunk","blob":"`)
		e.bw.WriteString(b.sha)
		e.bw.WriteString(`","idx":`)
		e.bw.WriteString(strconv.FormatInt(idx, 10))
		e.bw.WriteString(`,"data":"`)
		enc := base64.NewEncoder(base64.StdEncoding, e.bw)
		enc.Write(data)
		enc.Close()
		if _, err := e.bw.WriteString("\"}\n"); err != nil {
			return err
		}
		e.stats.Bytes += int64(len(data))
		if err := e.done(KindChunk); err != nil {
			return err
		}
	}
	if size != b.size {
		return fmt.Errorf("%w: blob %s holds %d bytes, recorded %d", storage.ErrCorrupt, b.sha, size, b.size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != b.sha {
		return fmt.Errorf("%w: blob %s: the SHA-256 of its bytes is %s", storage.ErrCorrupt, b.sha, sum)
	}
	return nil
}

func (e *exporter) writeRuns(where string, args []any) error {
	return e.each(`SELECT id, name, host, username, pid, status, error, started_at, ended_at`+runFrom+where+` ORDER BY seq`, args,
		func(rows *sql.Rows) error {
			r := runRec{Kind: KindRun}
			var ended sql.NullInt64
			if err := rows.Scan(&r.ID, &r.Name, &r.Host, &r.User, &r.PID, &r.Status, &r.Error, &r.StartedAt, &ended); err != nil {
				return err
			}
			r.EndedAt = ptr(ended)
			return e.emit(KindRun, r)
		})
}

func (e *exporter) writeResources(where string, args []any) error {
	// Parents first: by depth in the tree of parents, then by creation.
	return e.each(`WITH RECURSIVE tree(seq, depth) AS (
			SELECT seq, 0 FROM resources WHERE parent_seq IS NULL
			UNION ALL SELECT c.seq, tree.depth + 1 FROM resources c JOIN tree ON c.parent_seq = tree.seq WHERE tree.depth < 10000)
		SELECT r.id, r.type, r.name, r.version, p.id, r.status, r.attrs, run.id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at
		FROM tree JOIN resources r ON r.seq = tree.seq LEFT JOIN resources p ON p.seq = r.parent_seq
		LEFT JOIN runs run ON run.seq = r.run_seq WHERE `+where+` ORDER BY tree.depth, r.seq`, args,
		func(rows *sql.Rows) error {
			r := resourceRec{Kind: KindResource}
			var version, started, ended, deleted sql.NullInt64
			var parent, run sql.NullString
			var attrs string
			if err := rows.Scan(&r.ID, &r.Type, &r.Name, &version, &parent, &r.Status, &attrs, &run,
				&r.CreatedAt, &r.UpdatedAt, &started, &ended, &deleted); err != nil {
				return err
			}
			r.Version, r.Parent, r.Run, r.StartedAt, r.EndedAt = ptr(version), parent.String, run.String, ptr(started), ptr(ended)
			r.DeletedAt = ptr(deleted)
			if attrs != "{}" {
				r.Attrs = json.RawMessage(attrs)
			}
			return e.emit(KindResource, r)
		})
}

func (e *exporter) writeTags(where string, args []any) error {
	return e.each(`SELECT r.id, t.key, t.value, run.id, t.updated_at`+tagFrom+where+` ORDER BY t.resource_seq, t.key`, args,
		func(rows *sql.Rows) error {
			r := tagRec{Kind: KindTag}
			var run sql.NullString
			if err := rows.Scan(&r.Resource, &r.Key, &r.Value, &run, &r.UpdatedAt); err != nil {
				return err
			}
			r.Run = run.String
			return e.emit(KindTag, r)
		})
}

func (e *exporter) writeMetadata(where string, args []any) error {
	return e.each(`SELECT r.id, m.key, m.value, run.id, m.updated_at`+metaFrom+where+` ORDER BY m.resource_seq, m.key`, args,
		func(rows *sql.Rows) error {
			r := metadataRec{Kind: KindMetadata}
			var run sql.NullString
			var value string
			if err := rows.Scan(&r.Resource, &r.Key, &value, &run, &r.UpdatedAt); err != nil {
				return err
			}
			r.Value, r.Run = json.RawMessage(value), run.String
			return e.emit(KindMetadata, r)
		})
}

func (e *exporter) writeVCInfo(where string, args []any) error {
	return e.each(`SELECT r.id, v.key, v.info, v.extra, run.id, v.updated_at`+vcFrom+where+` ORDER BY v.resource_seq, v.key`, args,
		func(rows *sql.Rows) error {
			r := vcInfoRec{Kind: KindVCInfo}
			var run sql.NullString
			var info, extra string
			if err := rows.Scan(&r.Resource, &r.Key, &info, &extra, &run, &r.UpdatedAt); err != nil {
				return err
			}
			r.Info, r.Run = json.RawMessage(info), run.String
			if extra != "{}" {
				r.Extra = json.RawMessage(extra)
			}
			return e.emit(KindVCInfo, r)
		})
}

func (e *exporter) writeArtifacts(where string, args []any) error {
	return e.each(`SELECT a.id, r.id, a.name, a.kind, a.check_type, a.media_type, a.size, a.sha256, a.blob_seq, b.sha256,
		a.uri, a.source_path, run.id, a.created_at`+artFrom+where+` ORDER BY a.seq`, args,
		func(rows *sql.Rows) error {
			r := artifactRec{Kind: KindArtifact}
			var blobSeq sql.NullInt64
			var blob, run sql.NullString
			if err := rows.Scan(&r.ID, &r.Resource, &r.Name, &r.ArtifactKind, &r.CheckType, &r.MediaType, &r.Size, &r.SHA256,
				&blobSeq, &blob, &r.URI, &r.SourcePath, &run, &r.CreatedAt); err != nil {
				return err
			}
			if blobSeq.Valid && !blob.Valid {
				return fmt.Errorf("%w: artifact %q of %s refers to blob %d, which is missing or incomplete", storage.ErrCorrupt, r.Name, r.Resource, blobSeq.Int64)
			}
			r.Blob, r.Run = blob.String, run.String
			return e.emit(KindArtifact, r)
		})
}

func (e *exporter) writeEdges(where string, args []any) error {
	return e.each(`SELECT s.id, e.relation, d.id, run.id, e.created_at`+edgeFrom+where+` ORDER BY e.src_seq, e.relation, e.dst_seq`, args,
		func(rows *sql.Rows) error {
			r := edgeRec{Kind: KindEdge}
			var run sql.NullString
			if err := rows.Scan(&r.Src, &r.Relation, &r.Dst, &run, &r.CreatedAt); err != nil {
				return err
			}
			r.Run = run.String
			return e.emit(KindEdge, r)
		})
}

func (e *exporter) writeAliases(where string, args []any) error {
	return e.each(`SELECT h.id, al.name, v.id, run.id, al.updated_at`+aliasFrom+where+` ORDER BY al.head_seq, al.name`, args,
		func(rows *sql.Rows) error {
			r := aliasRec{Kind: KindAlias}
			var run sql.NullString
			if err := rows.Scan(&r.Head, &r.Name, &r.Version, &run, &r.UpdatedAt); err != nil {
				return err
			}
			r.Run = run.String
			return e.emit(KindAlias, r)
		})
}

func (e *exporter) writePurged(where string, args []any) error {
	return e.each(`SELECT pg.id, pg.type, pg.name, pg.version, pg.parent_id, pg.created_at, pg.deleted_at, pg.purged_at, run.id`+
		purgedFrom+where+` ORDER BY pg.purged_at, pg.id`, args,
		func(rows *sql.Rows) error {
			r := purgedRec{Kind: KindPurged}
			var version sql.NullInt64
			var run sql.NullString
			if err := rows.Scan(&r.ID, &r.Type, &r.Name, &version, &r.Parent, &r.CreatedAt, &r.DeletedAt, &r.PurgedAt, &run); err != nil {
				return err
			}
			r.Version, r.Run = ptr(version), run.String
			return e.emit(KindPurged, r)
		})
}

func (e *exporter) writeDeployments(where string, args []any) error {
	return e.each(`SELECT dp.id, m.id, mv.id, dp.environment, dp.deployed_at, dp.undeployed_at, run.id`+depFrom+where+` ORDER BY dp.seq`, args,
		func(rows *sql.Rows) error {
			r := deploymentRec{Kind: KindDeployment}
			var undeployed sql.NullInt64
			var run sql.NullString
			if err := rows.Scan(&r.ID, &r.Model, &r.ModelVersion, &r.Environment, &r.DeployedAt, &undeployed, &run); err != nil {
				return err
			}
			r.UndeployedAt, r.Run = ptr(undeployed), run.String
			return e.emit(KindDeployment, r)
		})
}

func (e *exporter) writeHistory(where string, args []any) error {
	return e.each(`SELECT h.id, r.id, h.at, run.id, h.actor, h.kind, h.key, h.old_value, h.new_value`+histFrom+where+` ORDER BY h.seq`, args,
		func(rows *sql.Rows) error {
			r := historyRec{Kind: KindHistory}
			var id, run, actor, old, nw sql.NullString
			if err := rows.Scan(&id, &r.Resource, &r.At, &run, &actor, &r.Change, &r.Key, &old, &nw); err != nil {
				return err
			}
			if !id.Valid {
				return fmt.Errorf("%w: a history entry of %s has no id", storage.ErrCorrupt, r.Resource)
			}
			r.ID, r.Run, r.Actor, r.Old, r.New = id.String, run.String, actor.String, raw(old), raw(nw)
			return e.emit(KindHistory, r)
		})
}
