package sharedsql

import "github.com/metatrack/metatrack/storage"

// Token holds the statements of the server's API tokens and idempotency
// keys, the same on both engines.
var Token = storage.TokenStatements{
	TokenNameUsed:      `SELECT count(*) FROM api_tokens WHERE name = ?`,
	InsertToken:        `INSERT INTO api_tokens (id, name, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
	AllTokens:          `SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY seq`,
	RevokeToken:        `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE name = ? OR id = ?`,
	TokenBySecret:      `SELECT id, name, role, created_at, revoked_at FROM api_tokens WHERE secret_hash = ? AND revoked_at IS NULL`,
	IdempotentResponse: `SELECT op, actor, response FROM idempotency_keys WHERE key = ? AND created_at >= ?`,
	ExpireIdempotency:  `DELETE FROM idempotency_keys WHERE created_at < ?`,
	InsertIdempotency:  `INSERT INTO idempotency_keys (key, actor, op, response, created_at) VALUES (?, ?, ?, ?, ?)`,
}
