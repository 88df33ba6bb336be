package sqlite

import "github.com/metatrack/metatrack/storage"

// runSQL holds the SQLite texts of the statements of runs.
var runSQL = storage.RunStatements{
	InsertRun: `INSERT INTO runs (id,name,host,username,pid,status,started_at) VALUES (?,?,?,?,?,?,?) RETURNING seq`,
	RunByID:   `SELECT seq, id, name, host, username, pid, status, error, started_at, ended_at FROM runs WHERE id = ?`,
	RunByName: `SELECT seq, id, name, host, username, pid, status, error, started_at, ended_at FROM runs WHERE name = ? ORDER BY seq DESC LIMIT 1`,
	EndRun:    `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE seq = ?`,
	ReopenRun: `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE seq = ?`,
	AllRuns:   `SELECT seq, id, name, host, username, pid, status, error, started_at, ended_at FROM runs ORDER BY seq DESC`,
}
