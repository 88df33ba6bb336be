package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestArtifactsGet(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	sum := sha256.Sum256([]byte(fixtureModelJSON))

	t.Run("ToFile", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "m.json")
		r := runFixture(t, "artifacts", "get", "model_version/titanic_model@2", "model.json", "--out", out, "--db", db)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if b, err := os.ReadFile(out); err != nil || string(b) != fixtureModelJSON {
			t.Fatalf("wrote %q, %v", b, err)
		}
		if !strings.Contains(r.stdout, hex.EncodeToString(sum[:])+" verified") || r.stderr != "" {
			t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
		}
	})
	t.Run("IntoDirectory", func(t *testing.T) {
		out := t.TempDir()
		r := runFixture(t, "artifacts", "get", "model_version/titanic_model@2", "checks/model/model_checks.json", "--out", out, "--db", db)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "model_checks.json")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("JSONRecord", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "m.json")
		r := runFixture(t, "artifacts", "get", "model_version/titanic_model@2", "model.json", "--out", out, "-o", "json", "--db", db)
		var rec artifactJSON
		if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != exitOK {
			t.Fatalf("exit %d, %v: %s", r.code, err, r.stdout)
		}
		if rec.SHA256 != hex.EncodeToString(sum[:]) || rec.SizeBytes != int64(len(fixtureModelJSON)) || rec.Name != "model.json" {
			t.Errorf("record %+v", rec)
		}
	})
	t.Run("Corrupt", func(t *testing.T) {
		corrupt := filepath.Join(t.TempDir(), "corrupt.db")
		copyFile(t, db, corrupt)
		corruptArtifact(t, corrupt, "model.json")
		out := filepath.Join(t.TempDir(), "m.json")
		r := runFixture(t, "artifacts", "get", "model_version/titanic_model@2", "model.json", "--out", out, "--db", corrupt)
		if r.code != exitFailure || !strings.Contains(r.stderr, "SHA-256") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Error("a corrupt artifact left a file behind")
		}
		entries, _ := os.ReadDir(filepath.Dir(out))
		if len(entries) != 0 {
			t.Errorf("left %v behind", entries)
		}
		// To stdout the bytes are out before the hash is checked; the exit
		// status still says so.
		r = runFixture(t, "artifacts", "get", "model_version/titanic_model@2", "model.json", "--db", corrupt)
		if r.code != exitFailure {
			t.Errorf("to stdout: exit %d", r.code)
		}
	})
}

// copyFile copies the database file src, closed and checkpointed, to dst.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// corruptArtifact flips the bytes of artifact name in the database file,
// keeping their length, behind the library's back.
func corruptArtifact(t testing.TB, path, name string) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	var data []byte
	const chunk = `FROM blob_chunks WHERE idx = 0 AND blob_seq = (SELECT blob_seq FROM artifacts WHERE name = ?)`
	if err := raw.QueryRowContext(ctx, `SELECT data `+chunk, name).Scan(&data); err != nil {
		t.Fatal(err)
	}
	bad := bytes.ToUpper(data)
	if bytes.Equal(bad, data) {
		t.Fatal("the artifact has no lower-case letters to flip")
	}
	if _, err := raw.ExecContext(ctx, `UPDATE blob_chunks SET data = ? `+strings.TrimPrefix(chunk, "FROM blob_chunks "), bad, name); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
}

// TestArtifactsGetForgedNames: artifacts get --out DIR writes through the
// library's one safe path, so a stored name edited behind the library's
// back (an escape on Unix or on Windows, an absolute path, a NUL, a Windows
// device name) fails and writes nothing anywhere; before, the command had
// its own save code that kept the name's base, which on Windows would have
// split at the backslashes and escaped DIR.
func TestArtifactsGetForgedNames(t *testing.T) {
	db := buildFixture(t, t.TempDir())
	forged := []string{`sub\..\..\win.txt`, `..\..\win.txt`, "../../escape.txt", "/abs.txt", "a\x00b", "a//b", ".", `C:\x.txt`,
		"CON", "nul.txt", "COM1.log", "x:stream", "trailing.", "pipe|name"}
	for _, name := range forged {
		t.Run(name, func(t *testing.T) {
			forgedDB := filepath.Join(t.TempDir(), "forged.db")
			copyFile(t, db, forgedDB)
			raw, err := sql.Open("sqlite", forgedDB)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`UPDATE artifacts SET name = ? WHERE name = 'model.json'`, name); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			sandbox := t.TempDir()
			out := filepath.Join(sandbox, "a", "b", "out")
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			r := runFixture(t, "artifacts", "get", "model_version/titanic_model@2", name, "--out", out, "--db", forgedDB)
			if r.code != exitFailure {
				t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			filepath.WalkDir(sandbox, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					t.Errorf("left %s", p)
				}
				return nil
			})
		})
	}
}
