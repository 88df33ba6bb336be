package storage

// StatsStatements are the statements of Stats: what a store holds at a
// glance.
type StatsStatements struct {
	// ResourcesByType counts the live resources of each type, as k (the type)
	// and n.
	ResourcesByType string
	// RunsByStatus counts the runs of each status, as k (the status) and n.
	RunsByStatus string
	// Counts counts, in one row, the deleted resources, the edges, changes, deployments (all and
	// current), artifacts (all and external) and the bytes of artifacts
	// (logical) and of blobs (stored).
	Counts string
}
