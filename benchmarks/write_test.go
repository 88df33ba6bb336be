package benchmarks

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/metatrack/metatrack"
)

// Writes run on a copy of the fixture. Each call writes a value never
// written before (the tracker skips a write that changes nothing), to one
// of ten experiments of the benchmark model version, so that both sides do
// the same work: resolve the resource, read the old value, upsert, and
// append the change to the history.

// counter makes every written value new, across benchmarks and their
// repeated runs.
var counter atomic.Int64

func next() int64 { return counter.Add(1) }

const (
	// batchTags is the number of LogTag or LogMetadata calls in one batch.
	batchTags = 1000
	// batchResources is the number of CreateResource calls in one batch.
	batchResources = 100
)

// BenchmarkWrite measures one durable call per transaction.
func BenchmarkWrite(b *testing.B) {
	e := getWriteEnv(b)
	targets := e.fx.WriteTargets
	parent := res(e.fx.ModelVersion)
	runCase(b, "LogTag", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			bench(b, func() error {
				n := next()
				return e.lib.LogTag(ctx, res(targets[n%10]), "bench_tag", "v"+strconv.FormatInt(n, 10))
			})
		})
		b.Run("bare", func(b *testing.B) {
			bench(b, func() error {
				n := next()
				return e.bare.tx(ctx, func() error {
					return e.bare.logTag(targets[n%10].ID, "bench_tag", "v"+strconv.FormatInt(n, 10))
				})
			})
		})
		b.Run("ref-upsert-only", func(b *testing.B) {
			bench(b, func() error {
				n := next()
				return e.bare.tx(ctx, func() error {
					_, err := e.bare.exec(ctx, sqlBareUpsertTag, targets[n%10].Seq, "bench_tag", "v"+strconv.FormatInt(n, 10),
						e.bare.runSeq, time.Now().UnixMilli())
					return err
				})
			})
		})
	})
	runCase(b, "LogMetadata", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			bench(b, func() error {
				n := next()
				return e.lib.LogMetadata(ctx, res(targets[n%10]), "bench_metric", float64(n)/7)
			})
		})
		b.Run("bare", func(b *testing.B) {
			bench(b, func() error {
				n := next()
				return e.bare.tx(ctx, func() error { return e.bare.logMetric(targets[n%10].ID, "bench_metric", float64(n)/7) })
			})
		})
	})
	runCase(b, "CreateResource", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			bench(b, func() error {
				_, err := e.lib.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(parent.ID))
				return err
			})
		})
		b.Run("bare", func(b *testing.B) {
			bench(b, func() error {
				return e.bare.tx(ctx, func() error {
					_, err := e.bare.createChild(parent.ID, metatrack.TypeExperiment)
					return err
				})
			})
		})
	})
}

// BenchmarkBatch measures calls batched into one transaction
// (Tracker.Batch); ns/op and allocs/op are per call.
func BenchmarkBatch(b *testing.B) {
	e := getWriteEnv(b)
	targets := e.fx.WriteTargets
	parent := res(e.fx.ModelVersion)
	// Each batch logs batchTags values over 100 keys of the ten targets,
	// as a training loop logs its metrics.
	key := func(n int64) string { return "k" + strconv.FormatInt(n%100, 10) }
	runCase(b, "LogTag", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			benchBatched(b, batchTags, func(k int) error {
				return e.lib.Batch(ctx, func(tx *metatrack.Tracker) error {
					for range k {
						n := next()
						if err := tx.LogTag(ctx, res(targets[n%10]), key(n), "v"+strconv.FormatInt(n, 10)); err != nil {
							return err
						}
					}
					return nil
				})
			})
		})
		b.Run("bare", func(b *testing.B) {
			benchBatched(b, batchTags, func(k int) error {
				return e.bare.tx(ctx, func() error {
					for range k {
						n := next()
						if err := e.bare.logTag(targets[n%10].ID, key(n), "v"+strconv.FormatInt(n, 10)); err != nil {
							return err
						}
					}
					return nil
				})
			})
		})
		b.Run("ref-bulk-insert", func(b *testing.B) {
			// The tag rows alone, by seq: no id to resolve, no old value,
			// no history.
			benchBatched(b, batchTags, func(k int) error {
				return e.bare.tx(ctx, func() error {
					now := time.Now().UnixMilli()
					for range k {
						n := next()
						if _, err := e.bare.exec(ctx, sqlBareUpsertTag, targets[n%10].Seq, key(n), "v"+strconv.FormatInt(n, 10),
							e.bare.runSeq, now); err != nil {
							return err
						}
					}
					return nil
				})
			})
		})
	})
	runCase(b, "LogMetadata", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			benchBatched(b, batchTags, func(k int) error {
				return e.lib.Batch(ctx, func(tx *metatrack.Tracker) error {
					for range k {
						n := next()
						if err := tx.LogMetadata(ctx, res(targets[n%10]), key(n), float64(n)/7); err != nil {
							return err
						}
					}
					return nil
				})
			})
		})
		b.Run("bare", func(b *testing.B) {
			benchBatched(b, batchTags, func(k int) error {
				return e.bare.tx(ctx, func() error {
					for range k {
						n := next()
						if err := e.bare.logMetric(targets[n%10].ID, key(n), float64(n)/7); err != nil {
							return err
						}
					}
					return nil
				})
			})
		})
	})
	runCase(b, "CreateResource", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			benchBatched(b, batchResources, func(k int) error {
				return e.lib.Batch(ctx, func(tx *metatrack.Tracker) error {
					for range k {
						if _, err := tx.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(parent.ID)); err != nil {
							return err
						}
					}
					return nil
				})
			})
		})
		b.Run("bare", func(b *testing.B) {
			benchBatched(b, batchResources, func(k int) error {
				return e.bare.tx(ctx, func() error {
					for range k {
						if _, err := e.bare.createChild(parent.ID, metatrack.TypeExperiment); err != nil {
							return err
						}
					}
					return nil
				})
			})
		})
	})
}

// The bare writes.
const (
	sqlBareTagOf     = "SELECT value FROM tags WHERE resource_seq = ? AND key = ?"
	sqlBareUpsertTag = "INSERT INTO tags (resource_seq, key, value, run_seq, updated_at) VALUES (?, ?, ?, ?, ?)" +
		" ON CONFLICT (resource_seq, key) DO UPDATE SET value = excluded.value, run_seq = excluded.run_seq, updated_at = excluded.updated_at"
	sqlBareMetaOf     = "SELECT value FROM metadata WHERE resource_seq = ? AND key = ?"
	sqlBareUpsertMeta = "INSERT INTO metadata (resource_seq, key, value, num, str, run_seq, updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?)" +
		" ON CONFLICT (resource_seq, key) DO UPDATE SET value = excluded.value, num = excluded.num, str = excluded.str, run_seq = excluded.run_seq, updated_at = excluded.updated_at"
	sqlBareHistory = "INSERT INTO history (id, resource_seq, at, run_seq, kind, key, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	sqlBareParent  = "SELECT seq, type FROM resources WHERE id = ?"
	sqlBareInsert  = "INSERT INTO resources (id, type, name, parent_seq, attrs, run_seq, created_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, ?, ?)"
	sqlBareEdge    = "INSERT INTO edges (src_seq, dst_seq, relation, run_seq, created_at) VALUES (?, ?, 'child', ?, ?)"
)

// logTag is the baseline of LogTag inside a transaction.
func (d *bareDB) logTag(id, key, value string) error {
	seq, err := d.seqOf(id)
	if err != nil {
		return notFound(err)
	}
	var old sql.NullString
	if err := d.queryRow(ctx, sqlBareTagOf, seq, key).Scan(&old); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if old.Valid && old.String == value {
		return nil
	}
	now := time.Now().UnixMilli()
	if _, err := d.exec(ctx, sqlBareUpsertTag, seq, key, value, d.runSeq, now); err != nil {
		return err
	}
	var oldJSON any
	if old.Valid {
		oldJSON = jsonString(old.String)
	}
	_, err = d.exec(ctx, sqlBareHistory, newID(), seq, now, d.runSeq, metatrack.ChangeTag, key, oldJSON, jsonString(value))
	return err
}

// logMetric is the baseline of LogMetadata of a number inside a
// transaction.
func (d *bareDB) logMetric(id, key string, value float64) error {
	seq, err := d.seqOf(id)
	if err != nil {
		return notFound(err)
	}
	text := strconv.FormatFloat(value, 'g', -1, 64)
	var old sql.NullString
	if err := d.queryRow(ctx, sqlBareMetaOf, seq, key).Scan(&old); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if old.Valid && old.String == text {
		return nil
	}
	now := time.Now().UnixMilli()
	if _, err := d.exec(ctx, sqlBareUpsertMeta, seq, key, text, value, d.runSeq, now); err != nil {
		return err
	}
	var oldV any
	if old.Valid {
		oldV = old.String
	}
	_, err = d.exec(ctx, sqlBareHistory, newID(), seq, now, d.runSeq, metatrack.ChangeMetadata, key, oldV, text)
	return err
}

// createChild is the baseline of CreateResource of a child named by its
// id: the parent's type is checked, the name's uniqueness is left to the
// unique index.
func (d *bareDB) createChild(parentID, typ string) (metatrack.Resource, error) {
	var parent int64
	var parentType string
	if err := d.queryRow(ctx, sqlBareParent, parentID).Scan(&parent, &parentType); err != nil {
		return metatrack.Resource{}, notFound(err)
	}
	if parentType != metatrack.TypeModelVersion {
		return metatrack.Resource{}, metatrack.ErrInvalidArgument
	}
	id := newID()
	now := time.Now().UnixMilli()
	r, err := d.exec(ctx, sqlBareInsert, id, typ, id, parent, d.runSeq, now, now)
	if err != nil {
		return metatrack.Resource{}, err
	}
	seq, err := r.LastInsertId()
	if err != nil {
		return metatrack.Resource{}, err
	}
	created, _ := json.Marshal(struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Name   string `json:"name"`
		Parent string `json:"parent"`
	}{id, typ, id, parentID})
	if _, err := d.exec(ctx, sqlBareHistory, newID(), seq, now, d.runSeq, metatrack.ChangeCreated, "", nil, string(created)); err != nil {
		return metatrack.Resource{}, err
	}
	if _, err := d.exec(ctx, sqlBareEdge, parent, seq, d.runSeq, now); err != nil {
		return metatrack.Resource{}, err
	}
	edge, _ := json.Marshal(struct {
		Src      string `json:"src"`
		Relation string `json:"relation"`
	}{parentID, metatrack.RelationChild})
	if _, err := d.exec(ctx, sqlBareHistory, newID(), seq, now, d.runSeq, metatrack.ChangeEdge, metatrack.RelationChild, nil, string(edge)); err != nil {
		return metatrack.Resource{}, err
	}
	t := time.UnixMilli(now).UTC()
	return metatrack.Resource{ID: id, Type: typ, Name: id, ParentID: parentID, CreatedAt: t, UpdatedAt: t}, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
