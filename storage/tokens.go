package storage

// TokenStatements are the statements of the server's API tokens and
// idempotency keys.
type TokenStatements struct {
	// TokenNameUsed counts the tokens of a name, revoked ones too. Args:
	// name.
	TokenNameUsed string
	// InsertToken records a token. Args: id, name, role, secret hash, created
	// at.
	InsertToken string
	// AllTokens lists every token as id, name, role, created_at, revoked_at,
	// oldest first.
	AllTokens string
	// RevokeToken revokes the token of a name or id, keeping an earlier
	// revocation's time. Args: revoked at, name, id.
	RevokeToken string
	// TokenBySecret reads the valid token of a secret hash as id, name, role,
	// created_at, revoked_at. Args: secret hash.
	TokenBySecret string
	// IdempotentResponse reads the op, actor and response recorded for an
	// idempotency key since a time. Args: key, since.
	IdempotentResponse string
	// ExpireIdempotency removes the idempotency keys recorded before a time.
	// Args: before.
	ExpireIdempotency string
	// InsertIdempotency records the response of an idempotency key. Args:
	// key, actor, op, response, created at.
	InsertIdempotency string
}
