package storage

// RunStatements are the statements of runs: the processes that write.
type RunStatements struct {
	// InsertRun records a run and returns its seq. Args: id, name, host, user
	// name, pid, status, started at.
	InsertRun string
	// RunByID reads a run by id. Args: id.
	RunByID string
	// RunByName reads the newest run of a name. Args: name.
	RunByName string
	// EndRun ends a run. Args: status, error message, ended at, seq.
	EndRun string
	// ReopenRun sets a run's status again (a resumed run). Args: status,
	// error message, ended at (or NULL), seq.
	ReopenRun string
	// AllRuns lists every run, newest first.
	AllRuns string
}
