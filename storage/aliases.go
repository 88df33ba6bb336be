package storage

// AliasStatements are the statements of aliases: names of members of a
// version chain.
type AliasStatements struct {
	// AliasOf reads an alias of a chain head. Args: head seq, name.
	AliasOf string
	// AliasesOfHead lists the aliases of a chain head, by name. Args: head
	// seq.
	AliasesOfHead string
	// AliasesOfVer lists the aliases that point to a chain member, by name.
	// Args: version seq.
	AliasesOfVer string
	// UpsertAlias points an alias at a chain member. Args: head seq, name,
	// version seq, run seq, updated at.
	UpsertAlias string
	// DeleteAlias removes an alias. Args: head seq, name.
	DeleteAlias string
	// AliasTarget reads the live chain member an alias of a head points to,
	// as a resource row. Args: head seq, name.
	AliasTarget string
}
