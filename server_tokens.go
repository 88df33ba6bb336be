package metatrack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/metatrack/metatrack/rules"
)

// What a server (package server, metatrack serve) stores beside the
// tracked metadata: its API tokens, the actor of each change, and the
// idempotency keys of recent writes.

// Token roles: read may call every read, write also every write, admin
// everything.
const (
	RoleRead  = "read"
	RoleWrite = "write"
	RoleAdmin = "admin"
)

// TokenPrefix starts every token secret, so that a leaked one is easy to
// recognize.
const TokenPrefix = "mtk_"

// Token is an API token of a server. Its secret is not stored: only its
// SHA-256.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// RevokedAt is zero while the token is valid.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

type tokenRow struct {
	ID        string        `db:"id"`
	Name      string        `db:"name"`
	Role      string        `db:"role"`
	CreatedAt int64         `db:"created_at"`
	RevokedAt sql.NullInt64 `db:"revoked_at"`
}

func (r tokenRow) token() Token {
	t := Token{ID: r.ID, Name: r.Name, Role: r.Role, CreatedAt: fromMillis(r.CreatedAt)}
	if r.RevokedAt.Valid {
		t.RevokedAt = fromMillis(r.RevokedAt.Int64)
	}
	return t
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateToken makes an API token named name with role (RoleRead,
// RoleWrite or RoleAdmin) and returns it with its secret, which is shown
// only now: the store keeps its SHA-256.
func (t *Tracker) CreateToken(ctx context.Context, name, role string) (Token, string, error) {
	if err := rules.Word("token name", name); err != nil {
		return Token{}, "", err
	}
	switch role {
	case RoleRead, RoleWrite, RoleAdmin:
	default:
		return Token{}, "", fmt.Errorf("%w: token role %q: want read, write or admin", ErrInvalidArgument, role)
	}
	var b [32]byte
	rand.Read(b[:])
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	tok := Token{ID: newID(), Name: name, Role: role}
	err := t.write(ctx, func(x *txn) error {
		var n int
		if err := x.get(ctx, &n, x.sql.TokenNameUsed, name); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: a token named %q (names stay taken after revoking: pick another name)", ErrAlreadyExists, name)
		}
		tok.CreatedAt = fromMillis(x.now)
		_, err := x.exec(ctx, x.sql.InsertToken,
			tok.ID, name, role, hashSecret(secret), x.now)
		return err
	})
	if err != nil {
		return Token{}, "", err
	}
	return tok, secret, nil
}

// Tokens lists the API tokens, revoked ones too, oldest first.
func (t *Tracker) Tokens(ctx context.Context) ([]Token, error) {
	var rows []tokenRow
	err := t.read(ctx, func(x *txn) error {
		return x.sel(ctx, &rows, x.sql.AllTokens)
	})
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, err
}

// RevokeToken revokes the token with the given name or id: from then on
// it authenticates nothing. Revoking a revoked token is not an error.
func (t *Tracker) RevokeToken(ctx context.Context, nameOrID string) error {
	return t.write(ctx, func(x *txn) error {
		res, err := x.exec(ctx, x.sql.RevokeToken, x.now, nameOrID, nameOrID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: token %q", ErrNotFound, nameOrID)
		}
		return nil
	})
}

// Authenticate returns the valid token whose secret this is, or
// ErrNotFound (for an unknown or revoked secret alike).
func (t *Tracker) Authenticate(ctx context.Context, secret string) (Token, error) {
	var row tokenRow
	err := t.readOne(ctx, func(x *txn) error {
		return x.get(ctx, &row, x.sql.TokenBySecret, hashSecret(secret))
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("%w: no valid token with this secret", ErrNotFound)
	}
	return row.token(), err
}

type actorKey struct{}

// WithActor returns a context whose writes record actor (a token's name)
// in the change log, as Change.Actor. A server sets it for each request.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorOf(ctx context.Context) any {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return nil
}

// IdempotencyWindow is how long Once remembers a key.
const IdempotencyWindow = 24 * time.Hour

// Once runs fn, a write, at most once for key: fn and the record of key
// with fn's response commit in one transaction (fn gets the batch's
// Tracker, as in Batch), and a later call with the same key returns that
// response with replayed set, without calling fn. A failed fn records
// nothing, so its retry runs it again. Keys older than
// IdempotencyWindow (by the Tracker's clock) are forgotten: neither Once
// nor Recall replays them, and Once deletes them.
func (t *Tracker) Once(ctx context.Context, key, op string, fn func(tx *Tracker) ([]byte, error)) (response []byte, replayed bool, err error) {
	if key == "" || len(key) > 200 || strings.ContainsFunc(key, func(r rune) bool { return r < ' ' || r > '~' }) {
		return nil, false, fmt.Errorf("%w: idempotency key %q: want 1 to 200 printable ASCII characters", ErrInvalidArgument, key)
	}
	actor, _ := actorOf(ctx).(string)
	err = t.Batch(ctx, func(tx *Tracker) error {
		var prev struct {
			Op       string `db:"op"`
			Actor    string `db:"actor"`
			Response []byte `db:"response"`
		}
		err := tx.write(ctx, func(x *txn) error {
			err := x.get(ctx, &prev, x.sql.IdempotentResponse, key, x.now-IdempotencyWindow.Milliseconds())
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		})
		if err != nil {
			return err
		}
		if prev.Op != "" {
			if prev.Op != op || prev.Actor != actor {
				return fmt.Errorf("%w: idempotency key %q was used for another request", ErrConflict, key)
			}
			response, replayed = prev.Response, true
			return nil
		}
		if response, err = fn(tx); err != nil {
			return err
		}
		return tx.write(ctx, func(x *txn) error {
			if _, err := x.exec(ctx, x.sql.ExpireIdempotency, x.now-IdempotencyWindow.Milliseconds()); err != nil {
				return err
			}
			_, err := x.exec(ctx, x.sql.InsertIdempotency,
				key, actor, op, response, x.now)
			return err
		})
	})
	return response, replayed, err
}

// Recall returns the response Once recorded for key, if it did. A write
// too large for one transaction (an artifact upload) uses it: Recall,
// then the write, then Once to record its response; a crash between the
// write and the record lets a retry apply it again.
func (t *Tracker) Recall(ctx context.Context, key, op string) (response []byte, ok bool, err error) {
	var prev struct {
		Op       string `db:"op"`
		Actor    string `db:"actor"`
		Response []byte `db:"response"`
	}
	err = t.readOne(ctx, func(x *txn) error {
		return x.get(ctx, &prev, x.sql.IdempotentResponse, key, x.now-IdempotencyWindow.Milliseconds())
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	actor, _ := actorOf(ctx).(string)
	if prev.Op != op || prev.Actor != actor {
		return nil, false, fmt.Errorf("%w: idempotency key %q was used for another request", ErrConflict, key)
	}
	return prev.Response, true, nil
}
