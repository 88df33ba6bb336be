package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/storage/sqlite"
)

// TestVerifyReportsCorruptIndex: an index whose entries no longer match
// its table (what deleting the -wal under a live writer left behind) is
// reported. Only the index's page is damaged: every row reads back as it
// was, so nothing but the full integrity check can find it.
func TestVerifyReportsCorruptIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	d, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = d.WriteConn(ctx, func(tx *sqlite.Tx) error {
		for i := range 20 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO resources (id, type, name, created_at, updated_at) VALUES (?, 'dataset', ?, 1, 1)`,
				fmt.Sprintf("01930000-0000-7000-8000-%012d", i), fmt.Sprintf("indexed-%02d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// Change one name inside the index resources_name (one page for 20
	// short names), not in the table.
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var root, pageSize int64
	if err := raw.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = 'resources_name'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := b[(root-1)*pageSize : root*pageSize]
	i := bytes.Index(page, []byte("indexed-07"))
	if i < 0 {
		t.Fatal("the index page does not hold the name")
	}
	page[i] = 'X'
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	d, err = sqlite.Open(ctx, path, sqlite.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var name string
	if err := d.Readers.QueryRowContext(ctx, `SELECT name FROM resources NOT INDEXED WHERE id LIKE '%000000000007'`).Scan(&name); err != nil || name != "indexed-07" {
		t.Fatalf("the table row reads %q, %v", name, err)
	}
	rep, err := sqlite.Verify(ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Problems[0].Kind != sqlite.ProblemIntegrity || !strings.Contains(fmt.Sprint(rep.Problems), "resources_name") {
		t.Fatalf("verify found %v, want the index resources_name reported", rep.Problems)
	}
}
