package storage

// ModelStatements are the statements of models: their inputs, winning
// experiments and versions.
type ModelStatements struct {
	// InputsOf lists the live inputs of a resource (the sources of its input
	// edges), oldest first as a resource rows. Args: seq.
	InputsOf string
	// WinnerOf reads the live winning experiment of a model version as a
	// resource row. Args: version seq.
	WinnerOf string
	// DeleteWinner removes the winning-experiment edge of a model version.
	// Args: version seq.
	DeleteWinner string
	// PrevVersion reads the live chain member numbered right below a version
	// as a resource row. Args: type, name, version.
	PrevVersion string
	// LatestVersion reads the live member with the highest number of a type
	// under a parent as a resource row. Args: parent seq, type.
	LatestVersion string
	// WinnerByID is WinnerOf for a model version given by id. Args: id.
	WinnerByID string
	// LatestUnderVersions reads the newest live resource of a type under any
	// live version of a model as a resource row. Args: type, model seq.
	LatestUnderVersions string
	// LatestUnderModelID is LatestUnderVersions for a model given by id.
	// Args: type (?1), model id (?2).
	LatestUnderModelID string
}
