package storage

// HistoryStatements are the statements of the change log.
type HistoryStatements struct {
	// InsertHistory appends a change. Args: id, resource seq, at, run seq,
	// kind, key, old value, new value, actor.
	InsertHistory string
	// InsertHistories returns the statement that appends n changes, in
	// the order of its rows (their seqs ascend with it). Args: the nine of
	// InsertHistory for each row.
	InsertHistories func(n int) string
	// HistoryUntil lists the changes of a resource up to a time, oldest
	// first. Args: resource seq, at.
	HistoryUntil string
}
