package sharedsql

import "github.com/metatrack/metatrack/storage"

// VC holds the statements of version-control records, the same on both
// engines.
var VC = storage.VCStatements{
	VCOf:     `SELECT info FROM vc_info WHERE resource_seq = ? AND key = ?`,
	UpsertVC: `INSERT INTO vc_info (resource_seq,key,info,extra,run_seq,updated_at) VALUES (?,?,?,?,?,?) ON CONFLICT (resource_seq, key) DO UPDATE SET info = excluded.info, extra = excluded.extra, run_seq = excluded.run_seq, updated_at = excluded.updated_at`,
	AllVCOf:  `SELECT key, info AS value FROM vc_info WHERE resource_seq = ? ORDER BY key`,
}
