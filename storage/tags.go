package storage

// TagStatements are the statements of tags: one string value per resource
// and key.
type TagStatements struct {
	// TagOf reads the value of a tag. Args: resource seq, key.
	TagOf string
	// GetTag reads the value of a tag of a live resource given by id. Args:
	// resource id, key.
	GetTag string
	// UpsertTag sets a tag, replacing its value. Args: resource seq, key,
	// value, run seq, updated at.
	UpsertTag string
	// DeleteTag removes a tag. Args: resource seq, key.
	DeleteTag string
	// TagsOf lists the tags of a resource as key, value, by key. Args:
	// resource seq.
	TagsOf string
	// TagsAmong returns the statement that reads the tags among n
	// (resource, key) pairs, as resource_seq, key, value; pairs without a
	// tag have no row. Args: resource seq and key of each pair.
	TagsAmong func(n int) string
	// UpsertTags returns the statement that sets n tags, each as
	// UpsertTag does; no two rows have the same resource and key. Args:
	// the five of UpsertTag for each row.
	UpsertTags func(n int) string
}
