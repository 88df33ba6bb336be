package storage

// ColumnStatements are the statements that read the values shown with each
// row of a search.
type ColumnStatements struct {
	// TagsOfSeqs lists the tags of the resources whose seqs are in a JSON
	// array, as resource seq, key, value. Args: the JSON array.
	TagsOfSeqs string
	// TagsOfSeqsKeys is TagsOfSeqs for the keys in a second JSON array only.
	// Args: the seqs, the keys.
	TagsOfSeqsKeys string
	// MetadataOfSeqs is TagsOfSeqs for metadata. Args: the JSON array.
	MetadataOfSeqs string
	// MetadataOfSeqsKeys is TagsOfSeqsKeys for metadata. Args: the seqs, the
	// keys.
	MetadataOfSeqsKeys string
}
