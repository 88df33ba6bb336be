package storage

// VCStatements are the statements of version-control records: one JSON
// record per resource and key.
type VCStatements struct {
	// VCOf reads a version-control record. Args: resource seq, key.
	VCOf string
	// UpsertVC sets a version-control record. Args: resource seq, key, info
	// JSON, extra JSON, run seq, updated at.
	UpsertVC string
	// AllVCOf lists the version-control records of a resource as key, value,
	// by key. Args: resource seq.
	AllVCOf string
}
