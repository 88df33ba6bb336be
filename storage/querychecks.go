package storage

// QueryCheckStatements are the statements behind the warnings about a query:
// whether the names and values it uses occur in the store.
type QueryCheckStatements struct {
	// MetaHasNum reports whether a metadata key has a number value. Args:
	// key.
	MetaHasNum string
	// MetaHasStr reports whether a metadata key has a string value. Args:
	// key.
	MetaHasStr string
	// AttrHasNum reports whether an attribute has a number value. Args: key.
	AttrHasNum string
	// AttrHasStr reports whether an attribute has a string value. Args: key.
	AttrHasStr string
	// StatusUsed reports whether a status occurs. Args: status.
	StatusUsed string
	// Statuses lists up to 1000 statuses in use, sorted.
	Statuses string
	// TypeUsed reports whether a resource type occurs. Args: type.
	TypeUsed string
	// Types lists up to 1000 resource types in use, sorted.
	Types string
	// TagKeyUsed reports whether a tag key occurs. Args: key.
	TagKeyUsed string
	// MetadataKeyUsed reports whether a metadata key occurs. Args: key.
	MetadataKeyUsed string
	// AttrKeyUsed reports whether an attribute key occurs. Args: key.
	AttrKeyUsed string
	// TagKeys lists up to 10000 tag keys, sorted.
	TagKeys string
	// MetadataKeys lists up to 10000 metadata keys, sorted.
	MetadataKeys string
	// AttrKeys lists up to 10000 attribute keys, sorted.
	AttrKeys string
	// TagNum reports whether a tag key has a value that is a JSON number.
	// Args: key.
	TagNum string
	// AliasUsed reports whether an alias name occurs. Args: name.
	AliasUsed string
	// AliasNames lists the alias names in use, sorted.
	AliasNames string
}
