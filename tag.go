package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/metatrack/metatrack/rules"
)

// LogTag sets the tag key of res to value, replacing an earlier value. Tags
// are strings; use LogMetadata for typed values. The change is recorded in
// the resource's history.
func (t *Tracker) LogTag(ctx context.Context, res Resource, key, value string) error {
	if err := rules.Key("tag key", key); err != nil {
		return err
	}
	if err := rules.TagValue(value); err != nil {
		return err
	}
	if t.holding() {
		return t.holdWrite(ctx, res, heldKV{kind: ChangeTag, key: key, value: value})
	}
	return t.writeBuffered(ctx, func(x *txn) error {
		row, err := x.target(ctx, res)
		if err != nil {
			return err
		}
		if x.t.kv != nil {
			return x.hold(ctx, heldKV{kind: ChangeTag, seq: row.Seq, key: key, value: value})
		}
		return x.setTag(ctx, row, key, value)
	})
}

func (x *txn) setTag(ctx context.Context, row resourceRow, key, value string) error {
	var old sql.NullString
	if err := x.get(ctx, &old, x.sql.TagOf, row.Seq, key); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if old.Valid && old.String == value {
		return nil
	}
	if _, err := x.exec(ctx, x.sql.UpsertTag, row.Seq, key, value, x.runSeq(), x.now); err != nil {
		return err
	}
	var oldV any
	if old.Valid {
		oldV = old.String
	}
	return x.history(ctx, row.Seq, ChangeTag, key, oldV, value)
}

// GetTag returns the value of tag key of res, or ErrNotFound.
func (t *Tracker) GetTag(ctx context.Context, res Resource, key string) (string, error) {
	var value string
	err := t.readOne(ctx, func(x *txn) error {
		err := x.get(ctx, &value, x.sql.GetTag, res.ID, key)
		if errors.Is(err, sql.ErrNoRows) {
			// res may carry a reference instead of an id, or not exist.
			row, rerr := x.resolveRes(ctx, res)
			if rerr != nil {
				return rerr
			}
			err = x.get(ctx, &value, x.sql.TagOf, row.Seq, key)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: tag %q of %s", ErrNotFound, key, row.ref())
			}
		}
		return err
	})
	return value, err
}

// DeleteTag removes tag key from res (recorded in its history). Removing a
// tag that is not there is not an error.
func (t *Tracker) DeleteTag(ctx context.Context, res Resource, key string) error {
	return t.write(ctx, func(x *txn) error {
		row, err := x.target(ctx, res)
		if err != nil {
			return err
		}
		var old sql.NullString
		if err := x.get(ctx, &old, x.sql.TagOf, row.Seq, key); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		}
		if _, err := x.exec(ctx, x.sql.DeleteTag, row.Seq, key); err != nil {
			return err
		}
		return x.history(ctx, row.Seq, ChangeTag, key, old.String, nil)
	})
}

// Tags returns every tag of res.
func (t *Tracker) Tags(ctx context.Context, res Resource) (map[string]string, error) {
	kv, err := t.keyValues(ctx, res, t.sql.TagsOf)
	tags := make(map[string]string, len(kv))
	for _, e := range kv {
		tags[e.Key] = e.Value
	}
	return tags, err
}

// keyValue is one row of a per-resource key/value table.
type keyValue struct {
	Key   string `db:"key"`
	Value string `db:"value"`
}

// keyValues returns the rows that query (with the resource's seq as its
// one parameter) selects as key and value.
func (t *Tracker) keyValues(ctx context.Context, res Resource, query string) ([]keyValue, error) {
	var kv []keyValue
	err := t.read(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, res)
		if err != nil {
			return err
		}
		return x.sel(ctx, &kv, query, row.Seq)
	})
	return kv, err
}
