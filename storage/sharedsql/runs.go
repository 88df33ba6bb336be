package sharedsql

import "github.com/metatrack/metatrack/storage"

// Run holds the statements of runs, the same on both engines.
var Run = storage.RunStatements{
	InsertRun: `INSERT INTO runs (id,name,host,username,pid,status,started_at) VALUES (?,?,?,?,?,?,?) RETURNING seq`,
	RunByID:   `SELECT seq, id, name, host, username, pid, status, error, started_at, ended_at FROM runs WHERE id = ?`,
	RunByName: `SELECT seq, id, name, host, username, pid, status, error, started_at, ended_at FROM runs WHERE name = ? ORDER BY seq DESC LIMIT 1`,
	EndRun:    `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE seq = ?`,
	ReopenRun: `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE seq = ?`,
	AllRuns:   `SELECT seq, id, name, host, username, pid, status, error, started_at, ended_at FROM runs ORDER BY seq DESC`,
}
