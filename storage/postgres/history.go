package postgres

import "github.com/metatrack/metatrack/storage"

// historySQL holds the PostgreSQL texts of the statements of the change
// log..
var historySQL = storage.HistoryStatements{
	InsertHistory: `INSERT INTO history (id,resource_seq,at,run_seq,kind,key,old_value,new_value,actor) VALUES (?,?,?,?,?,?,?,?,?)`,
	InsertHistories: storage.RowsText(`INSERT INTO history (id,resource_seq,at,run_seq,kind,key,old_value,new_value,actor) VALUES `,
		`(?,?,?,?,?,?,?,?,?)`, ``),
	HistoryUntil: `SELECT h.seq, h.at, run.id AS run_id, h.actor, h.kind, h.key, h.old_value, h.new_value FROM history h LEFT JOIN runs run ON run.seq = h.run_seq WHERE h.resource_seq = ? AND h.at <= ? ORDER BY h.seq`,
}
