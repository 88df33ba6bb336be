package sqlite

import (
	"testing"

	"github.com/metatrack/metatrack/storage/storagetest"
)

// TestStatementsComplete: the SQLite engine writes every statement of the
// seam.
func TestStatementsComplete(t *testing.T) {
	storagetest.CheckStatements(t, "sqlite", (&DB{}).SQL())
}
