package metatrack

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/metatrack/metatrack/rules"
)

// MetadataWinningExperimentID is the metadata key through which the seed's
// pipelines name a model version's winning experiment; logging it also
// records the winning-experiment relation.
const MetadataWinningExperimentID = "winning_experiment_id"

// LogMetadata stores value under key on res, replacing an earlier value.
// value is anything encoding/json encodes (numbers, strings, booleans, nil,
// maps, slices, structs, json.RawMessage); GetMetadata returns it typed.
// Logging winning_experiment_id on a model version also records that
// experiment as the winner (see GetWinningExperiment).
func (t *Tracker) LogMetadata(ctx context.Context, res Resource, key string, value any) error {
	if err := rules.Key("metadata key", key); err != nil {
		return err
	}
	enc, err := encodeMetadata(key, value)
	if err != nil {
		return err
	}
	if t.holding() && key != MetadataWinningExperimentID {
		return t.holdWrite(ctx, res, heldKV{kind: ChangeMetadata, key: key, value: enc.json, num: enc.num, str: enc.str})
	}
	return t.writeBuffered(ctx, func(x *txn) error {
		row, err := x.target(ctx, res)
		if err != nil {
			return err
		}
		if x.t.kv == nil {
			return x.setMetadata(ctx, row, key, enc)
		}
		if key == MetadataWinningExperimentID && row.Type == TypeModelVersion {
			// It records the winner too: written now, after what the
			// batch held back.
			if err := x.t.flushBatch(ctx); err != nil {
				return err
			}
			return x.setMetadata(ctx, row, key, enc)
		}
		return x.hold(ctx, heldKV{kind: ChangeMetadata, seq: row.Seq, key: key, value: enc.json, num: enc.num, str: enc.str})
	})
}

// encodedValue is a metadata value in its stored form.
type encodedValue struct {
	json string
	num  any // float64 for a top-level number, else nil
	str  any // string for a top-level string, else nil
}

func encodeMetadata(key string, value any) (encodedValue, error) {
	if f, ok := value.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return encodedValue{}, fmt.Errorf("%w: metadata %q: %v is not representable in JSON", ErrInvalidArgument, key, f)
	}
	b, err := json.Marshal(value)
	if err != nil {
		return encodedValue{}, fmt.Errorf("%w: metadata %q is not JSON-encodable: %v", ErrInvalidArgument, key, err)
	}
	if err := rules.Metadata(key, b); err != nil {
		return encodedValue{}, err
	}
	ev := encodedValue{json: string(b)}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err == nil {
			ev.str = s
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var f float64
		if err := json.Unmarshal(b, &f); err == nil {
			ev.num = f
		}
	}
	return ev, nil
}

func (x *txn) setMetadata(ctx context.Context, row resourceRow, key string, v encodedValue) error {
	var old sql.NullString
	if err := x.get(ctx, &old, x.sql.MetadataOf, row.Seq, key); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if key == MetadataWinningExperimentID && row.Type == TypeModelVersion {
		if err := x.setWinnerFromMetadata(ctx, row, v); err != nil {
			return err
		}
	}
	if old.Valid && old.String == v.json {
		return nil
	}
	if _, err := x.exec(ctx, x.sql.UpsertMetadata, row.Seq, key, v.json, v.num, v.str, x.runSeq(), x.now); err != nil {
		return err
	}
	var oldV any
	if old.Valid {
		oldV = json.RawMessage(old.String)
	}
	return x.history(ctx, row.Seq, ChangeMetadata, key, oldV, json.RawMessage(v.json))
}

// GetMetadata returns the value stored under key on res, or ErrNotFound.
// JSON objects come back as map[string]any, arrays as []any, integral
// numbers as int64 (when they fit) and other numbers as float64.
func (t *Tracker) GetMetadata(ctx context.Context, res Resource, key string) (any, error) {
	raw, err := t.GetMetadataJSON(ctx, res, key)
	if err != nil {
		return nil, err
	}
	return decodeJSON(raw)
}

// GetMetadataInto decodes the value stored under key on res into dst, for
// callers that know its Go type (a struct of training parameters).
func (t *Tracker) GetMetadataInto(ctx context.Context, res Resource, key string, dst any) error {
	raw, err := t.GetMetadataJSON(ctx, res, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%w: metadata %q does not decode into %T: %v", ErrInvalidArgument, key, dst, err)
	}
	return nil
}

// GetMetadataJSON returns the stored JSON text of metadata key of res.
func (t *Tracker) GetMetadataJSON(ctx context.Context, res Resource, key string) (json.RawMessage, error) {
	var value string
	err := t.readOne(ctx, func(x *txn) error {
		err := x.get(ctx, &value, x.sql.GetMetadata, res.ID, key)
		if errors.Is(err, sql.ErrNoRows) {
			row, rerr := x.resolveRes(ctx, res)
			if rerr != nil {
				return rerr
			}
			err = x.get(ctx, &value, x.sql.MetadataOf, row.Seq, key)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: metadata %q of %s", ErrNotFound, key, row.ref())
			}
		}
		return err
	})
	return json.RawMessage(value), err
}

// Metadata returns every metadata value of res, decoded as GetMetadata does.
func (t *Tracker) Metadata(ctx context.Context, res Resource) (map[string]any, error) {
	kv, err := t.keyValues(ctx, res, t.sql.AllMetadataOf)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(kv))
	for _, e := range kv {
		if out[e.Key], err = decodeJSON([]byte(e.Value)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeJSON decodes a stored value, keeping integers exact.
func decodeJSON(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: stored JSON: %v", ErrCorrupt, err)
	}
	return normalizeNumbers(v), nil
}

func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeNumbers(e)
		}
	}
	return v
}
