package metatrack

import (
	"context"
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
	runSeq int64 // 0: no run
	at     int64
	actor  string // "": no actor
}

// hold adds w to the batch's held writes, writing them all once there
// are kvBufferMax.
func (x *txn) hold(ctx context.Context, w heldKV) error {
	b := x.t.kv
	if b.err != nil {
		return b.err
	}
	w.runSeq, w.at = x.runSeqValue(), x.now
	w.actor, _ = actorOf(ctx).(string)
	b.writes = append(b.writes, w)
	if len(b.writes) >= kvBufferMax {
		return x.writeHeld(ctx)
	}
	return nil
}

// holding reports whether t is a batch's tracker, which holds LogTag and
// LogMetadata writes back.
func (t *Tracker) holding() bool { return t.kv != nil && t.tx != nil }

// holdWrite is a LogTag or LogMetadata call inside a batch: it resolves
// res and holds w, the call's write to it. It runs on the stack what
// writeBuffered would allocate for every call (its txn and the call's
// closure).
func (t *Tracker) holdWrite(ctx context.Context, res Resource, w heldKV) error {
	if err := t.writable(); err != nil {
		return err
	}
	x := txn{t: t, sql: t.sql, tx: t.tx, now: t.now().UnixMilli()}
	row, err := x.target(ctx, res)
	if err != nil {
		return err
	}
	w.seq = row.Seq
	return x.hold(ctx, w)
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

// keyState is what a flush knows of one key it writes.
type keyState struct {
	// value is the key's value, stored or set by a write before; had is
	// false while it has none.
	value string
	had   bool
	// valueJSON is value as the history records it (JSON text), once
	// known.
	valueJSON any
	// last is the index of the last write that changes the key, -1 while
	// none does.
	last int
	// seq and key are the key's resource and name as bound.
	seq, key any
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

// Kinds as bound, boxed once.
var (
	changeTagArg      any = ChangeTag
	changeMetadataArg any = ChangeMetadata
)

// reusedInt boxes int64 arguments, reusing the box of the value before:
// the consecutive calls of a flush mostly share their time and run, and
// every box is an allocation.
type reusedInt struct {
	v   int64
	box any
}

func (r *reusedInt) of(v int64) any {
	if r.box == nil || r.v != v {
		r.v, r.box = v, v
	}
	return r.box
}

// writeAll writes writes as the calls would have one by one: a value
// equal to the one stored (or held before it) changes nothing and records
// nothing; each other records its change with the value it replaced.
func (x *txn) writeAll(ctx context.Context, writes []heldKV) error {
	keys, order, err := x.readHeld(ctx, writes)
	if err != nil {
		return err
	}
	history := make([]any, 0, 9*len(writes))
	changes := 0
	var at, run reusedInt
	for i, w := range writes {
		k := keys[kvKey{w.kind, w.seq, w.key}]
		if k.had && k.value == w.value {
			continue
		}
		var oldV, newV, kind any
		if k.had {
			if k.valueJSON == nil {
				k.valueJSON = historyJSON(w.kind, k.value)
			}
			oldV = k.valueJSON
		}
		newV = historyJSON(w.kind, w.value)
		kind = changeTagArg
		if w.kind == ChangeMetadata {
			kind = changeMetadataArg
		}
		k.value, k.had, k.valueJSON, k.last = w.value, true, newV, i
		var runSeq, actor any
		if w.runSeq != 0 {
			runSeq = run.of(w.runSeq)
		}
		if w.actor != "" {
			actor = w.actor
		}
		history = append(history, newID(), k.seq, at.of(w.at), runSeq, kind, k.key, oldV, newV, actor)
		changes++
	}
	var tags, meta []any
	var nTags, nMeta int
	for _, kk := range order {
		k := keys[kk]
		if k.last < 0 {
			continue
		}
		w := writes[k.last]
		var runSeq any
		if w.runSeq != 0 {
			runSeq = run.of(w.runSeq)
		}
		if kk.kind == ChangeTag {
			tags = append(tags, k.seq, k.key, w.value, runSeq, at.of(w.at))
			nTags++
		} else {
			meta = append(meta, k.seq, k.key, w.value, w.num, w.str, runSeq, at.of(w.at))
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

// historyJSON is a tag's or metadata value's text as the history records
// it: a tag as a JSON string, a metadata value as its JSON text.
func historyJSON(kind, value string) any {
	if kind == ChangeTag {
		return jsonString(value)
	}
	return value
}

// readHeld returns the state of every key the writes set, with its stored
// value, and the keys in the order of their first write.
func (x *txn) readHeld(ctx context.Context, writes []heldKV) (map[kvKey]*keyState, []kvKey, error) {
	keys := map[kvKey]*keyState{}
	var order []kvKey
	var tags, meta []any
	for _, w := range writes {
		k := kvKey{w.kind, w.seq, w.key}
		if _, ok := keys[k]; ok {
			continue
		}
		st := &keyState{last: -1, seq: w.seq, key: w.key}
		keys[k] = st
		order = append(order, k)
		if w.kind == ChangeTag {
			tags = append(tags, st.seq, st.key)
		} else {
			meta = append(meta, st.seq, st.key)
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
					return nil, nil, err
				}
				for _, r := range rows {
					if st, ok := keys[kvKey{kind.name, r.Seq, r.Key}]; ok {
						st.value, st.had = r.Value, true
					}
				}
				rest = rest[2*n:]
			}
		}
	}
	return keys, order, nil
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
