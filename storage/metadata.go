package storage

// MetadataStatements are the statements of metadata: one JSON value per
// resource and key, with its number or string copied for indexed filters.
type MetadataStatements struct {
	// MetadataOf reads a metadata value. Args: resource seq, key.
	MetadataOf string
	// GetMetadata reads a metadata value of a live resource given by id.
	// Args: resource id, key.
	GetMetadata string
	// UpsertMetadata sets a metadata value. Args: resource seq, key, JSON
	// value, its number (or NULL), its string (or NULL), run seq, updated at.
	UpsertMetadata string
	// AllMetadataOf lists the metadata of a resource as key, value, by key.
	// Args: resource seq.
	AllMetadataOf string
	// MetadataAmong returns the statement that reads the metadata values
	// among n (resource, key) pairs, as resource_seq, key, value; pairs
	// without one have no row. Args: resource seq and key of each pair.
	MetadataAmong func(n int) string
	// UpsertMetadatas returns the statement that sets n metadata values,
	// each as UpsertMetadata does; no two rows have the same resource and
	// key. Args: the seven of UpsertMetadata for each row.
	UpsertMetadatas func(n int) string
}
