package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/metricstore"
)

// The report of Verify and the options and result of GC are package
// storage's.
type (
	Report    = storage.Report
	Problem   = storage.Problem
	Hit       = storage.Hit
	GCOptions = storage.GCOptions
	GCStats   = storage.GCStats
)

// The kinds of Problem, and the other constants of package storage's
// maintenance types, under this package's names.
const (
	ProblemIntegrity  = storage.ProblemIntegrity
	ProblemForeignKey = storage.ProblemForeignKey
	ProblemBlob       = storage.ProblemBlob
	ProblemArtifact   = storage.ProblemArtifact
	ProblemChain      = storage.ProblemChain
	ProblemDeployment = storage.ProblemDeployment
	ProblemSchema     = storage.ProblemSchema
	ProblemJSON       = storage.ProblemJSON
	ProblemAlias      = storage.ProblemAlias
	ProblemDeleted    = storage.ProblemDeleted
	ProblemMetric     = storage.ProblemMetric
	MaxProblems       = storage.MaxProblems
	DefaultStagedAge  = storage.DefaultStagedAge
)

// Verify checks the database d: its schema against the one its version
// defines (no views, triggers, tables, columns or indexes the migrations
// did not create), SQLite's full integrity check and foreign keys,
// every stored JSON value, every complete blob's chunks re-hashed against
// its SHA-256 and size, every artifact's blob, every version chain
// (numbered 1..n, parents right, version edges present) and that at most
// one deployment is open per model and environment. It reads one snapshot;
// writers go on meanwhile.
//
// What it finds is in the Report; the error is for failures to check
// (a cancelled ctx, an unreadable file). progress, if not nil, is called
// with the bytes checked so far and in all: the file once for the
// integrity check, then the artifact bytes.
func Verify(ctx context.Context, d *DB, progress func(done, total int64)) (Report, error) {
	v := &verifier{ctx: ctx, progress: progress}
	err := d.ReadSnapshot(ctx, func(tx *sqlx.Tx) error {
		v.tx = tx
		return v.run()
	})
	if err != nil && ctx.Err() == nil && (errors.Is(err, storage.ErrCorrupt) || errors.Is(err, storage.ErrNotDatabase)) {
		v.report.Add(ProblemIntegrity, d.Path, "%v", err)
		return v.report, nil
	}
	return v.report, err
}

type verifier struct {
	ctx         context.Context
	tx          *sqlx.Tx
	progress    func(done, total int64)
	done, total int64
	report      Report
}

func (v *verifier) advance(n int64) {
	v.done += n
	if v.progress != nil {
		v.progress(v.done, v.total)
	}
}

// rows runs query and calls scan for each row.
func (v *verifier) rows(query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := v.tx.QueryContext(v.ctx, query, args...)
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

func (v *verifier) run() error {
	var pages, pageSize, blobBytes int64
	if err := v.tx.GetContext(v.ctx, &pages, `PRAGMA page_count`); err != nil {
		return err
	}
	if err := v.tx.GetContext(v.ctx, &pageSize, `PRAGMA page_size`); err != nil {
		return err
	}
	if err := v.tx.GetContext(v.ctx, &blobBytes, `SELECT coalesce(sum(size), 0) FROM blobs WHERE sha256 IS NOT NULL`); err != nil {
		return err
	}
	v.total = pages*pageSize + blobBytes
	v.advance(0)

	if err := v.schema(); err != nil {
		return err
	}
	if err := v.integrity(); err != nil {
		return err
	}
	if !v.report.OK() {
		// On a damaged file the checks below would report consequences
		// of what is already reported, or fail.
		return nil
	}
	v.advance(pages * pageSize)
	for _, step := range []func() error{v.foreignKeys, v.json, v.chains, v.deployments, v.deployedStatus, v.aliasesAndDeletion, v.artifacts, v.blobs, v.metrics} {
		if err := step(); err != nil {
			return err
		}
	}
	if v.done < v.total {
		// Missing chunks were counted but not read.
		v.advance(v.total - v.done)
	}
	return v.tx.GetContext(v.ctx, &v.report.Resources, `SELECT count(*) FROM resources`)
}

// schema compares the file's schema with the one its version defines
// (schema.Compare): what the checks below read must be metatrack's tables,
// not a view or what a trigger keeps.
func (v *verifier) schema() error {
	st, err := schema.Inspect(v.ctx, v.tx)
	if err != nil {
		return err
	}
	version, err := schema.ExpectedVersion(v.ctx, v.tx, st)
	if err != nil {
		return err
	}
	diffs, err := schema.Compare(v.ctx, v.tx, version)
	if err != nil {
		return err
	}
	for _, d := range diffs {
		v.report.Add(ProblemSchema, d.Object, "%s", d.Detail)
	}
	return nil
}

// integrity runs SQLite's full integrity check (not quick_check), which
// also compares every index with its table, so a corrupt index is
// reported.
func (v *verifier) integrity() error {
	return v.rows(`PRAGMA integrity_check(`+strconv.Itoa(MaxProblems)+`)`, nil, func(rows *sql.Rows) error {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return err
		}
		if msg != "ok" {
			v.report.Add(ProblemIntegrity, "database file", "%s", msg)
		}
		return nil
	})
}

func (v *verifier) foreignKeys() error {
	return v.rows(`PRAGMA foreign_key_check`, nil, func(rows *sql.Rows) error {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		what := table
		if rowid.Valid {
			what += " row " + strconv.FormatInt(rowid.Int64, 10)
		}
		v.report.Add(ProblemForeignKey, what, "refers to a missing row of %s", parent)
		return nil
	})
}

func (v *verifier) json() error {
	return v.rows(`
		SELECT 'resource ' || id, 'attrs' FROM resources WHERE NOT json_valid(attrs)
		UNION ALL SELECT 'metadata ' || m.key || ' of ' || r.id, 'value' FROM metadata m JOIN resources r ON r.seq = m.resource_seq WHERE NOT json_valid(m.value)
		UNION ALL SELECT 'vc_info ' || c.key || ' of ' || r.id, 'info' FROM vc_info c JOIN resources r ON r.seq = c.resource_seq WHERE NOT json_valid(c.info)
		UNION ALL SELECT 'vc_info ' || c.key || ' of ' || r.id, 'extra' FROM vc_info c JOIN resources r ON r.seq = c.resource_seq WHERE NOT json_valid(c.extra)
		UNION ALL SELECT 'history entry ' || coalesce(id, seq), 'old value' FROM history WHERE old_value IS NOT NULL AND NOT json_valid(old_value)
		UNION ALL SELECT 'history entry ' || coalesce(id, seq), 'new value' FROM history WHERE new_value IS NOT NULL AND NOT json_valid(new_value)`,
		nil, func(rows *sql.Rows) error {
			var what, field string
			if err := rows.Scan(&what, &field); err != nil {
				return err
			}
			v.report.Add(ProblemJSON, what, "the %s is not valid JSON", field)
			return nil
		})
}

func (v *verifier) chains() error {
	// Chain types (<kind>_version) and only they have versions.
	err := v.rows(`SELECT id, type, name FROM resources
		WHERE (version IS NULL AND type GLOB '?*_version') OR (version IS NOT NULL AND NOT type GLOB '?*_version')`, nil,
		func(rows *sql.Rows) error {
			var id, typ, name string
			if err := rows.Scan(&id, &typ, &name); err != nil {
				return err
			}
			if strings.HasSuffix(typ, "_version") {
				v.report.Add(ProblemChain, "resource "+id, "the %s %q has no version number", typ, name)
			} else {
				v.report.Add(ProblemChain, "resource "+id, "the %s %q has a version number but is not a chain type", typ, name)
			}
			return nil
		})
	if err != nil {
		return err
	}
	// Numbers 1..n without gaps.
	type chain struct{ typ, name string }
	var bad []chain
	// Numbers of purged members count as taken (they are never handed out
	// again).
	err = v.rows(`SELECT type, name FROM (SELECT type, name, version FROM resources WHERE version IS NOT NULL
			UNION ALL SELECT type, name, version FROM purged WHERE version IS NOT NULL AND id NOT IN (SELECT id FROM resources)) GROUP BY type, name
		HAVING min(version) <> 1 OR max(version) <> count(*) OR count(DISTINCT version) <> count(*)`, nil,
		func(rows *sql.Rows) error {
			var c chain
			if err := rows.Scan(&c.typ, &c.name); err != nil {
				return err
			}
			bad = append(bad, c)
			return nil
		})
	if err != nil {
		return err
	}
	for _, c := range bad {
		var versions []int64
		if err := v.tx.SelectContext(v.ctx, &versions, `SELECT version FROM (SELECT version FROM resources WHERE type = ?1 AND name = ?2 AND version IS NOT NULL
			UNION ALL SELECT version FROM purged WHERE type = ?1 AND name = ?2 AND version IS NOT NULL
				AND id NOT IN (SELECT id FROM resources)) ORDER BY version`, c.typ, c.name); err != nil {
			return err
		}
		v.report.Add(ProblemChain, "chain "+c.typ+"/"+c.name, "%s", gapDetail(versions))
	}
	// Each member hangs under its head, which names the chain, with a
	// version edge from it.
	err = v.rows(`SELECT r.id, r.type, r.name, r.version, coalesce(p.type, ''), coalesce(p.name, ''), p.seq IS NULL, p.parent_seq IS NOT NULL,
			EXISTS (SELECT 1 FROM edges e WHERE e.src_seq = r.parent_seq AND e.relation = 'version' AND e.dst_seq = r.seq)
		FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq WHERE r.version IS NOT NULL AND r.type GLOB '?*_version'`, nil,
		func(rows *sql.Rows) error {
			var id, typ, name, ptyp, pname string
			var version int64
			var noParent, parentHasParent, edge bool
			if err := rows.Scan(&id, &typ, &name, &version, &ptyp, &pname, &noParent, &parentHasParent, &edge); err != nil {
				return err
			}
			what := fmt.Sprintf("%s/%s@%d (%s)", typ, name, version, id)
			switch {
			case noParent:
				v.report.Add(ProblemChain, what, "has no parent")
			case ptyp+"_version" != typ || pname != name || parentHasParent:
				v.report.Add(ProblemChain, what, "its parent is the %s %q, not the chain head %s/%s", ptyp, pname, strings.TrimSuffix(typ, "_version"), name)
			case !edge:
				v.report.Add(ProblemChain, what, "the version edge from its chain head is missing")
			}
			return nil
		})
	return err
}

// gapDetail describes what is wrong with a chain's sorted numbers.
func gapDetail(versions []int64) string {
	var missing, dup []string
	want := int64(1)
	for i, n := range versions {
		if i > 0 && n == versions[i-1] {
			dup = append(dup, strconv.FormatInt(n, 10))
			continue
		}
		for ; want < n && len(missing) < 20; want++ {
			missing = append(missing, strconv.FormatInt(want, 10))
		}
		want = n + 1
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing version "+strings.Join(missing, ", "))
	}
	if len(dup) > 0 {
		parts = append(parts, "version "+strings.Join(dup, ", ")+" twice")
	}
	return fmt.Sprintf("%d members numbered up to %d: %s", len(versions), versions[len(versions)-1], strings.Join(parts, "; "))
}

func (v *verifier) deployments() error {
	err := v.rows(`SELECT m.id, d.environment, count(*) FROM deployments d JOIN resources m ON m.seq = d.model_seq
		WHERE d.undeployed_at IS NULL GROUP BY d.model_seq, d.environment HAVING count(*) > 1`, nil,
		func(rows *sql.Rows) error {
			var model, env string
			var n int64
			if err := rows.Scan(&model, &env, &n); err != nil {
				return err
			}
			v.report.Add(ProblemDeployment, "model "+model, "%d deployments are open in environment %q", n, env)
			return nil
		})
	if err != nil {
		return err
	}
	return v.rows(`SELECT d.id, mv.type, mv.parent_seq IS d.model_seq, d.undeployed_at < d.deployed_at
		FROM deployments d JOIN resources mv ON mv.seq = d.model_version_seq
		WHERE mv.type <> 'model_version' OR mv.parent_seq IS NOT d.model_seq OR d.undeployed_at < d.deployed_at`, nil,
		func(rows *sql.Rows) error {
			var id, typ string
			var sameModel bool
			var backwards sql.NullBool
			if err := rows.Scan(&id, &typ, &sameModel, &backwards); err != nil {
				return err
			}
			switch {
			case typ != "model_version":
				v.report.Add(ProblemDeployment, "deployment "+id, "deploys a %s, not a model_version", typ)
			case !sameModel:
				v.report.Add(ProblemDeployment, "deployment "+id, "deploys a version of another model than its own")
			default:
				v.report.Add(ProblemDeployment, "deployment "+id, "ends before it starts")
			}
			return nil
		})
}

// aliasesAndDeletion checks what the tracker keeps true of aliases and
// deleted resources: an alias points to a live version of its own chain;
// nothing live hangs under a deleted resource; no deleted version is
// deployed.
func (v *verifier) aliasesAndDeletion() error {
	err := v.rows(`SELECT h.id, a.name, mv.id, mv.version IS NOT NULL AND mv.parent_seq IS a.head_seq, mv.deleted_at IS NOT NULL
		FROM aliases a JOIN resources h ON h.seq = a.head_seq JOIN resources mv ON mv.seq = a.version_seq
		WHERE mv.version IS NULL OR mv.parent_seq IS NOT a.head_seq OR mv.deleted_at IS NOT NULL`, nil,
		func(rows *sql.Rows) error {
			var head, name, mv string
			var member, deleted bool
			if err := rows.Scan(&head, &name, &mv, &member, &deleted); err != nil {
				return err
			}
			if !member {
				v.report.Add(ProblemAlias, "alias "+name+" of "+head, "points to %s, which is not a version of its chain", mv)
			} else {
				v.report.Add(ProblemAlias, "alias "+name+" of "+head, "points to %s, which is deleted", mv)
			}
			return nil
		})
	if err != nil {
		return err
	}
	err = v.rows(`SELECT c.id, p.id FROM resources c JOIN resources p ON p.seq = c.parent_seq
		WHERE c.deleted_at IS NULL AND p.seq IN (SELECT seq FROM resources WHERE deleted_at IS NOT NULL)`, nil,
		func(rows *sql.Rows) error {
			var child, parent string
			if err := rows.Scan(&child, &parent); err != nil {
				return err
			}
			v.report.Add(ProblemDeleted, "resource "+child, "is not deleted, and its parent %s is", parent)
			return nil
		})
	if err != nil {
		return err
	}
	return v.rows(`SELECT mv.id, d.environment FROM deployments d JOIN resources mv ON mv.seq = d.model_version_seq
		WHERE d.undeployed_at IS NULL AND mv.deleted_at IS NOT NULL`, nil,
		func(rows *sql.Rows) error {
			var mv, env string
			if err := rows.Scan(&mv, &env); err != nil {
				return err
			}
			v.report.Add(ProblemDeleted, "resource "+mv, "is deleted and deployed in %q", env)
			return nil
		})
}

// deployedStatus reports the model versions whose status and deployments
// disagree: the tracker keeps a version DEPLOYED exactly while it has an
// open deployment.
func (v *verifier) deployedStatus() error {
	return v.rows(`SELECT id, name, coalesce(version, 0), status, open FROM (
			SELECT r.id, r.name, r.version, r.status,
				(SELECT count(*) FROM deployments d WHERE d.model_version_seq = r.seq AND d.undeployed_at IS NULL) AS open
			FROM resources r WHERE r.type = 'model_version')
		WHERE (status = 'DEPLOYED') <> (open > 0)`, nil,
		func(rows *sql.Rows) error {
			var id, name, status string
			var version, open int64
			if err := rows.Scan(&id, &name, &version, &status, &open); err != nil {
				return err
			}
			what := fmt.Sprintf("model_version/%s@%d (%s)", name, version, id)
			if open == 0 {
				v.report.Add(ProblemDeployment, what, "its status is DEPLOYED, but no deployment of it is open")
			} else {
				deps := "an open deployment"
				if open > 1 {
					deps = strconv.FormatInt(open, 10) + " open deployments"
				}
				v.report.Add(ProblemDeployment, what, "it has %s, but its status is %q, not DEPLOYED", deps, status)
			}
			return nil
		})
}

func (v *verifier) artifacts() error {
	return v.rows(`SELECT a.id, a.name, r.id, a.sha256, a.size, a.blob_seq IS NULL, a.uri, b.seq IS NULL, coalesce(b.sha256, ''), coalesce(b.size, 0)
		FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq
		WHERE (a.blob_seq IS NULL AND a.uri = '') OR (a.blob_seq IS NOT NULL AND (b.seq IS NULL OR b.sha256 IS NULL OR b.sha256 <> a.sha256 OR b.size <> a.size))`, nil,
		func(rows *sql.Rows) error {
			var id, name, res, sum, uri, blobSum string
			var size, blobSize int64
			var noBlob, blobMissing bool
			if err := rows.Scan(&id, &name, &res, &sum, &size, &noBlob, &uri, &blobMissing, &blobSum, &blobSize); err != nil {
				return err
			}
			what := fmt.Sprintf("artifact %s of %s (%s)", name, res, id)
			switch {
			case noBlob:
				v.report.Add(ProblemArtifact, what, "has neither stored bytes nor a URI")
			case blobMissing:
				v.report.Add(ProblemArtifact, what, "its blob is missing")
			case blobSum == "":
				v.report.Add(ProblemArtifact, what, "its blob is an unfinished upload")
			default:
				v.report.Add(ProblemArtifact, what, "records SHA-256 %s and %d bytes, its blob holds %s and %d bytes", sum, size, blobSum, blobSize)
			}
			return nil
		})
}

func (v *verifier) blobs() error {
	type blob struct {
		Seq       int64  `db:"seq"`
		SHA       string `db:"sha256"`
		Size      int64  `db:"size"`
		ChunkSize int64  `db:"chunk_size"`
	}
	var blobs []blob
	if err := v.tx.SelectContext(v.ctx, &blobs, `SELECT seq, sha256, size, chunk_size FROM blobs WHERE sha256 IS NOT NULL ORDER BY seq`); err != nil {
		return err
	}
	for _, b := range blobs {
		if err := v.ctx.Err(); err != nil {
			return err
		}
		what := "blob " + b.SHA
		h := sha256.New()
		var size, next int64
		var problem string
		err := v.rows(`SELECT idx, data FROM blob_chunks WHERE blob_seq = ? ORDER BY idx`, []any{b.Seq}, func(rows *sql.Rows) error {
			var idx int64
			var data []byte
			if err := rows.Scan(&idx, &data); err != nil {
				return err
			}
			switch {
			case problem != "":
			case idx != next:
				problem = fmt.Sprintf("chunk %d is missing", next)
			case int64(len(data)) > b.ChunkSize || (int64(len(data)) < b.ChunkSize && size+int64(len(data)) < b.Size):
				problem = fmt.Sprintf("chunk %d has %d bytes; chunks are %d bytes but the last", idx, len(data), b.ChunkSize)
			}
			next = idx + 1
			h.Write(data)
			size += int64(len(data))
			v.advance(int64(len(data)))
			return nil
		})
		if err != nil {
			return err
		}
		sum := hex.EncodeToString(h.Sum(nil))
		switch {
		case problem != "":
		case size != b.Size:
			problem = fmt.Sprintf("holds %d bytes, recorded %d", size, b.Size)
		case sum != b.SHA:
			problem = fmt.Sprintf("the SHA-256 of its bytes is %s", sum)
		}
		if problem != "" {
			if err := v.blobProblem(b.Seq, what, problem); err != nil {
				return err
			}
		}
		v.report.Blobs++
		v.report.Bytes += size
	}
	return nil
}

// maxHitsInDetail is how many artifacts the detail of a blob problem names;
// Hits has them all.
const maxHitsInDetail = 10

// blobProblem reports the damaged blob seq with the artifacts that use it.
func (v *verifier) blobProblem(seq int64, what, problem string) error {
	var hits []Hit
	err := v.rows(`SELECT a.id, a.name, r.id, r.type, r.name, r.version, p.type, p.name, p.version FROM artifacts a
		JOIN resources r ON r.seq = a.resource_seq LEFT JOIN resources p ON p.seq = r.parent_seq
		WHERE a.blob_seq = ? ORDER BY a.seq`, []any{seq},
		func(rows *sql.Rows) error {
			var h Hit
			var typ, name string
			var version, pVersion sql.NullInt64
			var pType, pName sql.NullString
			if err := rows.Scan(&h.ArtifactID, &h.Artifact, &h.ResourceID, &typ, &name, &version, &pType, &pName, &pVersion); err != nil {
				return err
			}
			switch {
			case version.Valid:
				h.ResourceRef = fmt.Sprintf("%s/%s@%d", typ, name, version.Int64)
			case name != "" && pType.Valid && pVersion.Valid:
				// Not a chain member: unique under its parent, as Ref says it.
				h.ResourceRef = fmt.Sprintf("%s/%s@%d/%s/%s", pType.String, pName.String, pVersion.Int64, typ, name)
			case name != "" && pType.Valid:
				h.ResourceRef = pType.String + "/" + pName.String + "/" + typ + "/" + name
			case name != "":
				h.ResourceRef = typ + "/" + name
			default:
				h.ResourceRef = typ + "/" + h.ResourceID
			}
			hits = append(hits, h)
			return nil
		})
	if err != nil {
		return err
	}
	detail := problem
	if len(hits) == 0 {
		detail += "; no artifact uses it (gc removes it)"
	} else {
		names := make([]string, 0, min(len(hits), maxHitsInDetail))
		for _, h := range hits[:min(len(hits), maxHitsInDetail)] {
			names = append(names, h.String())
		}
		detail += "; it breaks " + strings.Join(names, ", ")
		if len(hits) > maxHitsInDetail {
			detail += fmt.Sprintf(" and %d more", len(hits)-maxHitsInDetail)
		}
	}
	if len(v.report.Problems) >= MaxProblems {
		v.report.Omitted++
		return nil
	}
	v.report.Problems = append(v.report.Problems, Problem{Kind: ProblemBlob, What: what, Detail: detail, Hits: hits})
	return nil
}

// metrics checks every metric series (metricstore.Verify).
func (v *verifier) metrics() error {
	return metricstore.Verify(v.ctx, textDBTX{v.tx}, &metricSQL, &v.report)
}
