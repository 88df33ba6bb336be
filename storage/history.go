package storage

// HistoryStatements are the statements of the change log.
type HistoryStatements struct {
	// InsertHistory appends a change. Args: id, resource seq, at, run seq,
	// kind, key, old value, new value, actor.
	InsertHistory string
	// HistoryUntil lists the changes of a resource up to a time, oldest
	// first. Args: resource seq, at.
	HistoryUntil string
}
