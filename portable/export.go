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
	e := &exporter{ctx: ctx, d: d, sql: &d.SQL().ExportStatements, bw: bufio.NewWriterSize(spool, 1<<20), progress: opts.Progress}
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
	sql      *storage.ExportStatements
	tx       storage.Tx // the snapshot, while the records are read
	header   headerRec
	blobs    []blobInfo // the blobs to export, listed in the snapshot
	bw       *bufio.Writer
	line     bytes.Buffer  // the record being encoded
	enc      *json.Encoder // encodes into line
	progress Progress
	// set is the selection of a filtered export, the argument of its
	// statements (see storage.ExportStatements): the seqs of the exported
	// resources and of the chain members exported bare; "" when
	// everything is exported.
	set   string
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
	rows, err := e.tx.QueryContext(e.ctx, e.sql.Selection(where, lineage), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteString(`{"set":[`)
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
	b.WriteString(`],"stubs":[]}`)
	e.set = b.String()
	if err := rows.Err(); err != nil {
		return err
	}
	// The earlier members of the selected chain members' chains come
	// along as bare resources, so that chains stay numbered from 1
	// without gaps in the file that imports the export.
	var stubs []int64
	if err := sqlx.SelectContext(e.ctx, e.tx, &stubs, e.sql.Stubs, e.set); err != nil {
		return err
	}
	if len(stubs) > 0 {
		b, _ := json.Marshal(stubs)
		e.set = strings.TrimSuffix(e.set, `[]}`) + string(b) + `}`
	}
	return nil
}

func (e *exporter) run(filter string, now int64) error {
	type section struct {
		kind  string
		sql   storage.ExportSection
		write func(query string, args []any) error
	}
	x := e.sql
	sections := []section{
		{KindBlob, x.BlobRecords, e.listBlobs},
		{KindRun, x.RunRecords, e.writeRuns},
		{KindResource, x.ResourceRecords, e.writeResources},
		{KindTag, x.TagRecords, e.writeTags},
		{KindMetadata, x.MetadataRecords, e.writeMetadata},
		{KindVCInfo, x.VCInfoRecords, e.writeVCInfo},
		{KindArtifact, x.ArtifactRecords, e.writeArtifacts},
		{KindEdge, x.EdgeRecords, e.writeEdges},
		{KindDeployment, x.DeploymentRecords, e.writeDeployments},
		{KindAlias, x.AliasRecords, e.writeAliases},
		{KindPurged, x.PurgedRecords, e.writePurged},
		{KindHistory, x.HistoryRecords, e.writeHistory},
		{KindMetric, x.MetricRecords, e.writeMetrics},
	}
	// Without a filter the statements of the whole store run, without
	// args; with one, those of the selection, with it as their arg.
	list := func(s section) (string, string, []any) {
		if e.set == "" {
			return s.sql.All, s.sql.AllCount, nil
		}
		return s.sql.Selected, s.sql.SelectedCount, []any{e.set}
	}
	for _, s := range sections {
		_, count, args := list(s)
		var n int64
		if err := sqlx.GetContext(e.ctx, e.tx, &n, count, args...); err != nil {
			return err
		}
		e.total += n
	}
	var schemaVersion int64
	if err := sqlx.GetContext(e.ctx, e.tx, &schemaVersion, e.sql.SchemaVersion); err != nil {
		return err
	}
	e.header = headerRec{Format: Format, Version: Version, Schema: schemaVersion, CreatedAt: now, Filter: filter, Records: e.total}
	if e.progress != nil {
		e.progress(0, e.total)
	}
	for _, s := range sections {
		query, _, args := list(s)
		if err := s.write(query, args); err != nil {
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
func (e *exporter) listBlobs(query string, args []any) error {
	// The list of blobs is small (a few numbers each); their chunks are
	// read one at a time.
	err := e.each(query, args,
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
		err := e.d.Reader().QueryRowxContext(e.ctx, e.sql.ChunkData, b.seq, idx).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := e.d.Reader().QueryRowxContext(e.ctx, e.sql.BlobStored, b.seq, b.sha).Scan(&n); err != nil {
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

func (e *exporter) writeRuns(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writeResources(query string, args []any) error {
	// Parents first: by depth in the tree of parents, then by creation.
	return e.each(query, args,
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

func (e *exporter) writeTags(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writeMetadata(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writeVCInfo(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writeArtifacts(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writeEdges(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writeAliases(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writePurged(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writeDeployments(query string, args []any) error {
	return e.each(query, args,
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

func (e *exporter) writeHistory(query string, args []any) error {
	return e.each(query, args,
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
