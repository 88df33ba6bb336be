package metatrack

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/metatrack/metatrack/storage"
)

// Inside a Batch, LogTag and LogMetadata hold their writes back and write
// them together: one statement reads the old values of many keys, one sets
// many values, one appends many changes to the history, instead of three
// statements per call. The held writes are written before anything else
// of the batch reads or writes (see Tracker.write and Tracker.read), so
// every statement sees them, and the history keeps the order of the calls,
// each change with the time, run and actor of its own call.

// kvBufferMax bounds the writes a batch holds back; reaching it writes
// them.
const kvBufferMax = 4096

// kvBuffer holds the tag and metadata writes of a batch not written yet.
type kvBuffer struct {
	writes []heldKV
	// err is the failure of writing them: every later write of the
	// batch, and its end, report it, so that a caller who goes on after
	// it cannot commit the batch without them.
	err error
}

// heldKV is one held LogTag (kind ChangeTag) or LogMetadata (kind
// ChangeMetadata) call.
type heldKV struct {
	kind   string
	seq    int64
	key    string
	value  string // the tag, or the metadata's JSON text
	num    any    // metadata: the copies of a top-level number or string
	str    any
	runSeq any
	at     int64
	actor  any
}

// hold adds w to the batch's held writes, writing them all once there
// are kvBufferMax.
func (x *txn) hold(ctx context.Context, w heldKV) error {
	b := x.t.kv
	if b.err != nil {
		return b.err
	}
	w.runSeq, w.at, w.actor = x.runSeq(), x.now, actorOf(ctx)
	b.writes = append(b.writes, w)
	if len(b.writes) >= kvBufferMax {
		return x.writeHeld(ctx)
	}
	return nil
}

// flushHeld writes the batch's held tag and metadata writes; outside a
// batch, or with none held, it does nothing.
func (t *Tracker) flushHeld(ctx context.Context) error {
	if t.kv == nil {
		return nil
	}
	if t.kv.err != nil || len(t.kv.writes) == 0 {
		return t.kv.err
	}
	x := &txn{t: t, sql: t.sql, tx: t.tx, now: t.now().UnixMilli()}
	return x.writeHeld(ctx)
}

type kvKey struct {
	kind string
	seq  int64
	key  string
}

// writeHeld writes the held writes (writeAll); a failure stays the
// batch's (kvBuffer.err).
func (x *txn) writeHeld(ctx context.Context) error {
	b := x.t.kv
	writes := b.writes
	b.writes = nil
	if err := x.writeAll(ctx, writes); err != nil {
		b.err = fmt.Errorf("the batch's held tag and metadata writes: %w", err)
		return b.err
	}
	return nil
}

// writeAll writes writes as the calls would have one by one: a value
// equal to the one stored (or held before it) changes nothing and records
// nothing; each other records its change with the value it replaced.
func (x *txn) writeAll(ctx context.Context, writes []heldKV) error {
	current := map[kvKey]string{}
	if err := x.readHeld(ctx, writes, current); err != nil {
		return err
	}
	var history []any
	changes := 0
	last := map[kvKey]int{} // the last write to each key that changes it
	var order []kvKey
	for i, w := range writes {
		k := kvKey{w.kind, w.seq, w.key}
		old, had := current[k]
		if had && old == w.value {
			continue
		}
		current[k] = w.value
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = i
		var oldV, newV any
		if w.kind == ChangeTag {
			newV = w.value
			if had {
				oldV = old
			}
		} else {
			newV = json.RawMessage(w.value)
			if had {
				oldV = json.RawMessage(old)
			}
		}
		o, err := jsonOrNull(oldV)
		if err != nil {
			return err
		}
		n, err := jsonOrNull(newV)
		if err != nil {
			return err
		}
		history = append(history, newID(), w.seq, w.at, w.runSeq, w.kind, w.key, o, n, w.actor)
		changes++
	}
	var tags, meta []any
	var nTags, nMeta int
	for _, k := range order {
		w := writes[last[k]]
		if k.kind == ChangeTag {
			tags = append(tags, w.seq, w.key, w.value, w.runSeq, w.at)
			nTags++
		} else {
			meta = append(meta, w.seq, w.key, w.value, w.num, w.str, w.runSeq, w.at)
			nMeta++
		}
	}
	if err := x.execRows(ctx, x.sql.UpsertTags, tags, 5, nTags); err != nil {
		return err
	}
	if err := x.execRows(ctx, x.sql.UpsertMetadatas, meta, 7, nMeta); err != nil {
		return err
	}
	return x.execRows(ctx, x.sql.InsertHistories, history, 9, changes)
}

// readHeld reads into current the stored value of every key the writes
// set.
func (x *txn) readHeld(ctx context.Context, writes []heldKV, current map[kvKey]string) error {
	seen := map[kvKey]bool{}
	var tags, meta []any
	for _, w := range writes {
		k := kvKey{w.kind, w.seq, w.key}
		if seen[k] {
			continue
		}
		seen[k] = true
		if w.kind == ChangeTag {
			tags = append(tags, w.seq, w.key)
		} else {
			meta = append(meta, w.seq, w.key)
		}
	}
	for _, kind := range []struct {
		name  string
		query func(int) string
		args  []any
	}{{ChangeTag, x.sql.TagsAmong, tags}, {ChangeMetadata, x.sql.MetadataAmong, meta}} {
		rest := kind.args
		for _, n := range rowCounts {
			for len(rest) >= 2*n {
				var rows []struct {
					Seq   int64  `db:"resource_seq"`
					Key   string `db:"key"`
					Value string `db:"value"`
				}
				if err := x.sel(ctx, &rows, kind.query(n), rest[:2*n]...); err != nil {
					return err
				}
				for _, r := range rows {
					current[kvKey{kind.name, r.Seq, r.Key}] = r.Value
				}
				rest = rest[2*n:]
			}
		}
	}
	return nil
}

// rowCounts are the row counts of the many-row statements run: a few
// texts, each prepared once.
var rowCounts = []int{storage.MaxRows, 64, 16, 4, 1}

// execRows runs the many-row statement of query for rows rows of cols
// args each, in as few statements as rowCounts allow.
func (x *txn) execRows(ctx context.Context, query func(int) string, args []any, cols, rows int) error {
	for _, n := range rowCounts {
		for rows >= n {
			if _, err := x.exec(ctx, query(n), args[:n*cols]...); err != nil {
				return err
			}
			args, rows = args[n*cols:], rows-n
		}
	}
	return nil
}
