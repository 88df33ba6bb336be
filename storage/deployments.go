package storage

// DeploymentStatements are the statements of deployments: which model
// version serves in which environment, and since when.
type DeploymentStatements struct {
	// CurrentDeployment reads the open deployment of a model in an
	// environment. Args: model seq, environment.
	CurrentDeployment string
	// OpenDeploymentsOf lists the open deployments of a model version. Args:
	// version seq.
	OpenDeploymentsOf string
	// EndDeployment closes a deployment. Args: undeployed at, seq.
	EndDeployment string
	// InsertDeployment opens a deployment. Args: id, model seq, version seq,
	// environment, deployed at, run seq.
	InsertDeployment string
	// DeployedAt reads the seq of the version a model had deployed in an
	// environment at a time. Args: model seq, environment, at, at.
	DeployedAt string
	// CurrentlyDeployed answers GetCurrentlyDeployedModelVersion in one
	// statement, as a resource row: the version deployed now for a model in
	// an environment, else the latest PROMOTED version before the given one,
	// else the one before it. Args: model seq, environment, name, version,
	// name, version.
	CurrentlyDeployed string
	// CurrentlyDeployedByID is CurrentlyDeployed for a model version given by
	// id. Args: version id (?1), environment (?2).
	CurrentlyDeployedByID string
	// DeploymentsOfModel lists every deployment of a model, oldest first.
	// Args: model seq.
	DeploymentsOfModel string
	// DeploymentsOfVersion lists every deployment of a model version, oldest
	// first. Args: version seq.
	DeploymentsOfVersion string
	// OpenDeploymentsOfModel lists the open deployments of a model. Args:
	// model seq.
	OpenDeploymentsOfModel string
	// AllOpenDeployments lists the open deployments of every model, by model
	// seq, then environment.
	AllOpenDeployments string
}
