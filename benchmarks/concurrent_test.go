package benchmarks

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/metatrack/metatrack"
)

// writers is the number of concurrent writers of BenchmarkConcurrent.
const writers = 8

// BenchmarkConcurrent measures write throughput with writers goroutines
// writing at once on SQLite (PG/Concurrent is the same on PostgreSQL): each
// call is one durable transaction that creates an experiment under the
// benchmark model version and logs a tag on it (Tracker.Batch with
// CreateResource and LogTag), with its change-log rows. ns/op is wall time
// per call over all writers; writes/s is its inverse.
//
// The library runs its writers one at a time on either engine (SQLite's one
// writer connection; on PostgreSQL the store's advisory lock, which keeps
// version numbers gap-free across processes). The baselines write the same
// rows by hand, as fast as the same rule lets them: on SQLite one connection
// the writers take in turn; on PostgreSQL one pgx connection per writer,
// each transaction taking an advisory lock as the library's do.
func BenchmarkConcurrent(b *testing.B) {
	onEngine(b, "sqlite")
	benchConcurrent(b, getWriteEnv(b))
}

// benchConcurrent runs the concurrent writers on e's engine.
func benchConcurrent(b *testing.B, e *env) {
	parent := e.fx.ModelVersion.ID
	var bares []*bareDB
	var mu sync.Mutex // SQLite's bare writers share one connection
	if e.bare.pg != nil {
		for range writers {
			d, err := openPGBare(ctx, e.url)
			if err != nil {
				b.Fatal(err)
			}
			d.runSeq = e.bare.runSeq
			bares = append(bares, d)
		}
		b.Cleanup(func() {
			for _, d := range bares {
				d.close()
			}
		})
	}
	runCase(b, "CreateTag-x"+strconv.Itoa(writers), func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			inParallel(b, func(int) error {
				v := "v" + strconv.FormatInt(next(), 10)
				return e.lib.Batch(ctx, func(tx *metatrack.Tracker) error {
					r, err := tx.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(parent))
					if err != nil {
						return err
					}
					return tx.LogTag(ctx, r, "writer", v)
				})
			})
		})
		b.Run("bare", func(b *testing.B) {
			inParallel(b, func(w int) error {
				v := "v" + strconv.FormatInt(next(), 10)
				if bares != nil {
					return bares[w].pgCreateTag(parent, v)
				}
				mu.Lock()
				defer mu.Unlock()
				return e.bare.tx(ctx, func() error {
					r, err := e.bare.createChild(parent, metatrack.TypeExperiment)
					if err != nil {
						return err
					}
					return e.bare.logTag(r.ID, "writer", v)
				})
			})
		})
	})
}

// inParallel runs b.N calls of op over writers goroutines (op gets the
// writer's number) and reports writes/s.
func inParallel(b *testing.B, op func(w int) error) {
	b.Helper()
	p := startPeak()
	b.ReportAllocs()
	b.ResetTimer()
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := op(w); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	p.report(b)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// The bare writes on PostgreSQL.
const (
	pgBareLock      = "SELECT pg_advisory_xact_lock($1)"
	pgBareParent    = "SELECT seq, type FROM resources WHERE id = $1"
	pgBareInsert    = "INSERT INTO resources (id, type, name, parent_seq, attrs, run_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, '{}', $5, $6, $7) RETURNING seq"
	pgBareEdge      = "INSERT INTO edges (src_seq, dst_seq, relation, run_seq, created_at) VALUES ($1, $2, 'child', $3, $4)"
	pgBareHistory   = "INSERT INTO history (id, resource_seq, at, run_seq, kind, key, old_value, new_value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
	pgBareTagOf     = "SELECT value FROM tags WHERE resource_seq = $1 AND key = $2"
	pgBareUpsertTag = "INSERT INTO tags (resource_seq, key, value, run_seq, updated_at) VALUES ($1, $2, $3, $4, $5)" +
		" ON CONFLICT (resource_seq, key) DO UPDATE SET value = excluded.value, run_seq = excluded.run_seq, updated_at = excluded.updated_at"
)

// pgBareLockKey is the advisory lock the bare writers take.
const pgBareLockKey = 0x6d657461

// pgCreateTag is the baseline of a Batch with CreateResource of a child
// and LogTag on it, on PostgreSQL: one READ COMMITTED transaction under
// the advisory lock.
func (d *bareDB) pgCreateTag(parentID, value string) error {
	tx, err := d.pg.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	exec := func(query string, args ...any) error {
		name, err := d.pgPrepared(ctx, query)
		if err == nil {
			_, err = tx.Exec(ctx, name, args...)
		}
		return err
	}
	row := func(query string, args ...any) pgx.Row {
		name, err := d.pgPrepared(ctx, query)
		if err != nil {
			return errRow{err}
		}
		return tx.QueryRow(ctx, name, args...)
	}
	if err := exec(pgBareLock, int64(pgBareLockKey)); err != nil {
		return err
	}
	var parent int64
	var parentType string
	if err := row(pgBareParent, parentID).Scan(&parent, &parentType); err != nil {
		return notFound(err)
	}
	if parentType != metatrack.TypeModelVersion {
		return metatrack.ErrInvalidArgument
	}
	id := newID()
	now := time.Now().UnixMilli()
	var seq int64
	if err := row(pgBareInsert, id, metatrack.TypeExperiment, id, parent, d.runSeq, now, now).Scan(&seq); err != nil {
		return err
	}
	created := `{"id":` + jsonString(id) + `,"type":"experiment","name":` + jsonString(id) + `,"parent":` + jsonString(parentID) + `}`
	if err := exec(pgBareHistory, newID(), seq, now, d.runSeq, metatrack.ChangeCreated, "", nil, created); err != nil {
		return err
	}
	if err := exec(pgBareEdge, parent, seq, d.runSeq, now); err != nil {
		return err
	}
	edge := `{"src":` + jsonString(parentID) + `,"relation":"child"}`
	if err := exec(pgBareHistory, newID(), seq, now, d.runSeq, metatrack.ChangeEdge, metatrack.RelationChild, nil, edge); err != nil {
		return err
	}
	var old string
	if err := row(pgBareTagOf, seq, "writer").Scan(&old); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err := exec(pgBareUpsertTag, seq, "writer", value, d.runSeq, now); err != nil {
		return err
	}
	if err := exec(pgBareHistory, newID(), seq, now, d.runSeq, metatrack.ChangeTag, "writer", nil, jsonString(value)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
