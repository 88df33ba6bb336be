package postgres

import (
	"testing"

	"github.com/metatrack/metatrack/storage/storagetest"
)

// TestStatementsComplete: the PostgreSQL engine writes every statement of
// the seam.
func TestStatementsComplete(t *testing.T) {
	storagetest.CheckStatements(t, "postgres", &statements)
}
