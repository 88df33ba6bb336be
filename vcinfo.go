package metatrack

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/metatrack/metatrack/rules"
)

// RegisterVCResource stores info, the dict a version-control component
// (git, DVC) returned for res (hexsha, uri and whatever else it holds),
// under the key given by WithVCKey (default: the resource's own record).
// WithAdditionalMetadata entries are logged as metadata of res in the same
// transaction.
func (t *Tracker) RegisterVCResource(ctx context.Context, res Resource, info map[string]any, opts ...VCOption) error {
	var cfg vcConfig
	for _, o := range opts {
		o(&cfg)
	}
	if len(info) == 0 {
		return fmt.Errorf("%w: version-control info for %s is empty", ErrInvalidArgument, res.key())
	}
	if err := rules.Key("version-control key", cfg.key); err != nil {
		return err
	}
	infoJSON, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("%w: version-control info is not JSON-encodable: %v", ErrInvalidArgument, err)
	}
	extra := make(map[string]encodedValue, len(cfg.metadata))
	for k, v := range cfg.metadata {
		if err := rules.Key("metadata key", k); err != nil {
			return err
		}
		if extra[k], err = encodeMetadata(k, v); err != nil {
			return err
		}
	}
	extraJSON, err := json.Marshal(cfg.metadata)
	if err != nil || cfg.metadata == nil {
		extraJSON = []byte("{}")
	}
	if err := rules.VCInfo(infoJSON, extraJSON); err != nil {
		return err
	}
	return t.write(ctx, func(x *txn) error {
		row, err := x.target(ctx, res)
		if err != nil {
			return err
		}
		var old sql.NullString
		if err := x.get(ctx, &old, x.sql.VCOf, row.Seq, cfg.key); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := x.exec(ctx, x.sql.UpsertVC, row.Seq, cfg.key, string(infoJSON), string(extraJSON), x.runSeq(), x.now); err != nil {
			return err
		}
		var oldV any
		if old.Valid {
			oldV = json.RawMessage(old.String)
		}
		if err := x.history(ctx, row.Seq, ChangeVCInfo, cfg.key, oldV, json.RawMessage(infoJSON)); err != nil {
			return err
		}
		for k, v := range extra {
			if err := x.setMetadata(ctx, row, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetVCInfo returns the version-control info of res stored under key. key
// may be the key given to WithVCKey (X_train), that key with the seed's
// _hexsha suffix (X_train_hexsha), or "" / "hexsha" for the resource's own
// record. It returns ErrNotFound when nothing is stored there.
func (t *Tracker) GetVCInfo(ctx context.Context, res Resource, key string) (map[string]any, error) {
	var info map[string]any
	err := t.read(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, res)
		if err != nil {
			return err
		}
		for _, k := range vcKeyCandidates(key) {
			var raw string
			err := x.get(ctx, &raw, x.sql.VCOf, row.Seq, k)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			v, err := decodeJSON([]byte(raw))
			if err != nil {
				return err
			}
			info, _ = v.(map[string]any)
			return nil
		}
		return fmt.Errorf("%w: version-control info %q of %s", ErrNotFound, key, row.ref())
	})
	return info, err
}

func vcKeyCandidates(key string) []string {
	if key == "hexsha" {
		return []string{key, ""}
	}
	if k, ok := strings.CutSuffix(key, "_hexsha"); ok {
		return []string{key, k}
	}
	return []string{key}
}

// VCInfos returns every version-control record of res by key ("" is the
// resource's own record).
func (t *Tracker) VCInfos(ctx context.Context, res Resource) (map[string]map[string]any, error) {
	kv, err := t.keyValues(ctx, res, t.sql.AllVCOf)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]any, len(kv))
	for _, e := range kv {
		v, err := decodeJSON([]byte(e.Value))
		if err != nil {
			return nil, err
		}
		out[e.Key], _ = v.(map[string]any)
	}
	return out, nil
}
