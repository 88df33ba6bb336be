package postgres

// ForgetExpectedSchemas empties the cache of the schemas built to verify
// against, so that a test sees what a process that built none sees.
func ForgetExpectedSchemas() {
	expected.mu.Lock()
	defer expected.mu.Unlock()
	expected.versions = nil
}
