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
}
