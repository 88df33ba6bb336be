package metatrack_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage"
)

func TestOpenURLForms(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ url, path string }{
		{"plain.db", "plain.db"},
		{"sqlite:rel.db", "rel.db"},
		{"file:rel2.db?x=1", "rel2.db"},
		{"sqlite://" + filepath.Join(dir, "abs.db"), filepath.Join(dir, "abs.db")},
		{"file://" + filepath.Join(dir, "abs2.db"), filepath.Join(dir, "abs2.db")},
	} {
		got, err := metatrack.PathFromURL(tc.url)
		if err != nil || got != tc.path {
			t.Errorf("PathFromURL(%q) = %q, %v; want %q", tc.url, got, err, tc.path)
		}
	}
	if _, err := metatrack.PathFromURL("postgres://host/db"); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("postgres URL: %v", err)
	}
	url := "sqlite://" + filepath.Join(dir, "x.db")
	tr, err := metatrack.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.URL() != url {
		t.Errorf("URL() = %q", tr.URL())
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil {
		t.Error(err)
	}
}

// fileBytes returns the bytes of path and of its -wal and -shm companions.
func fileBytes(tb testing.TB, path string) [3][]byte {
	tb.Helper()
	var out [3][]byte
	for i, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	tr, err := metatrack.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.CreateResource(context.Background(), metatrack.TypeDataset, "kept"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE schema_migrations SET version = 999`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	before := fileBytes(t, path)
	_, err = metatrack.Open(context.Background(), path)
	if !errors.Is(err, metatrack.ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
	after := fileBytes(t, path)
	for i := range before {
		if !bytes.Equal(before[i], after[i]) {
			t.Fatalf("refused file changed (part %d)", i)
		}
	}
}

func TestOpenRefusesNonDatabases(t *testing.T) {
	dir := t.TempDir()
	otherApp := filepath.Join(dir, "other.db")
	raw, err := sql.Open("sqlite", otherApp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance REAL)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	garbage := make([]byte, 8192)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	corruptHeader := func() []byte {
		// A real metatrack file whose header magic is damaged.
		p := filepath.Join(dir, "src.db")
		tr, err := metatrack.Open(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
		b, _ := os.ReadFile(p)
		b[0] ^= 0xff
		return b
	}()
	cases := map[string]struct {
		content []byte
		path    string
		want    error
	}{
		"Text":          {content: []byte("name,age\nana,31\n"), want: metatrack.ErrNotDatabase},
		"Empty":         {content: []byte{}, want: metatrack.ErrNotDatabase},
		"Garbage":       {content: garbage, want: metatrack.ErrNotDatabase},
		"CorruptHeader": {content: corruptHeader, want: metatrack.ErrNotDatabase},
		"OtherApp":      {path: otherApp, want: metatrack.ErrNotDatabase},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := tc.path
			if p == "" {
				p = filepath.Join(dir, name+".db")
				if err := os.WriteFile(p, tc.content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := fileBytes(t, p)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := metatrack.Open(ctx, p)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			after := fileBytes(t, p)
			for i := range before {
				if !bytes.Equal(before[i], after[i]) {
					t.Fatalf("refused file changed (part %d)", i)
				}
			}
		})
	}
	t.Run("Directory", func(t *testing.T) {
		if _, err := metatrack.Open(context.Background(), dir); err == nil {
			t.Fatal("opened a directory")
		}
	})
}

func TestCloseLeavesOneFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	tr, err := metatrack.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := tr.CreateResource(context.Background(), metatrack.TypeDatasetVersion, "d")
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if info, err := os.Stat(path + suffix); err == nil && info.Size() > 0 {
			t.Errorf("%s left with %d bytes", suffix, info.Size())
		}
	}
	// The file alone, moved elsewhere, holds everything.
	moved := filepath.Join(t.TempDir(), "copy.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(moved, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tr2, err := metatrack.Open(context.Background(), moved, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	got, err := tr2.GetResource(context.Background(), "dataset_version/d@1", "")
	if err != nil || got.ID != ds.ID {
		t.Fatalf("copy lost the resource: %v", err)
	}
	if _, err := tr2.CreateResource(context.Background(), metatrack.TypeDataset, "x"); !errors.Is(err, metatrack.ErrReadOnly) {
		t.Fatalf("write on read-only tracker = %v", err)
	}
	if err := tr.Stop(context.Background(), nil); !errors.Is(err, metatrack.ErrClosed) {
		t.Fatalf("Stop after Close = %v", err)
	}
	if _, err := tr.CreateResource(context.Background(), metatrack.TypeDataset, "x"); !errors.Is(err, metatrack.ErrClosed) {
		t.Fatalf("write after Close = %v", err)
	}
}

func TestStopRecordsRunOutcome(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, path, metatrack.WithRunName("train"))
	if err != nil {
		t.Fatal(err)
	}
	id := tr.Run().ID
	if err := tr.Stop(ctx, errors.New("out of memory")); err != nil {
		t.Fatal(err)
	}
	tr, err = metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	run, err := tr.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != metatrack.RunFailed || run.Error != "out of memory" || run.Name != "train" || run.EndedAt.IsZero() {
		t.Fatalf("run = %+v", run)
	}
	if tr.Run().ID != "" {
		t.Fatal("WithoutRun started a run")
	}
	// Attaching resumes the run by name.
	tr2, err := metatrack.Open(ctx, path, metatrack.WithRun("train"))
	if err != nil {
		t.Fatal(err)
	}
	if tr2.Run().ID != id || tr2.Run().Status != metatrack.RunRunning {
		t.Fatalf("attached run = %+v", tr2.Run())
	}
	if err := tr2.Stop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if run, _ := tr.GetRun(ctx, id); run.Status != metatrack.RunFinished {
		t.Fatalf("after attach and stop: %+v", run)
	}
}

func TestStopWithCancelledContextEndsTheRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	tr, err := metatrack.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	id := tr.Run().ID
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Stop(ctx, context.Canceled); err != nil {
		t.Fatal(err)
	}
	ro, err := metatrack.Open(context.Background(), path, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if run, _ := ro.GetRun(context.Background(), id); run.Status != metatrack.RunFailed {
		t.Fatalf("run after Stop with a cancelled context = %+v", run)
	}
	_, err = metatrack.Open(context.Background(), filepath.Join(t.TempDir(), "missing.db"), metatrack.WithReadOnly())
	if !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("read-only open of a missing file = %v", err)
	}
}

func TestBackupOfLiveDatabase(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	ds, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "backup.db")
	if err := tr.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := tr.Backup(ctx, dst); err == nil {
		t.Fatal("backup over an existing file")
	}
	b, err := metatrack.Open(ctx, dst, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, err := b.GetResource(ctx, ds.ID, ""); err != nil || got.Ref() != "dataset_version/d@1" {
		t.Fatalf("backup lost the resource: %v", err)
	}
}

// TestOpenDispatchesOnScheme: a path or a sqlite: or file: URL opens a
// SQLite file; a postgres URL without the PostgreSQL engine linked in is
// ErrUnsupported naming the scheme; an unknown scheme is
// ErrInvalidArgument naming it and the supported ones, and nothing is
// created for either; a registered scheme reaches its opener with the URL.
func TestOpenDispatchesOnScheme(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)
	if storage.OpenerOf("postgres") == nil {
		for _, u := range []string{"postgres://u@h/db", "PostgreSQL://h/db"} {
			_, err := metatrack.Open(ctx, u)
			if !errors.Is(err, metatrack.ErrUnsupported) || errors.Is(err, metatrack.ErrInvalidArgument) ||
				!strings.Contains(strings.ToLower(err.Error()), "postgres") {
				t.Errorf("Open(%q) = %v, want ErrUnsupported naming the scheme", u, err)
			}
		}
	}
	_, err := metatrack.Open(ctx, "mysql://h/db")
	if !errors.Is(err, metatrack.ErrInvalidArgument) || !strings.Contains(err.Error(), `"mysql"`) ||
		!strings.Contains(err.Error(), "sqlite:") || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("Open(mysql://) = %v, want ErrInvalidArgument naming mysql and the supported schemes", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a refused URL left %d files in the working directory", len(ents))
	}

	var got string
	refused := errors.New("refused by the test's opener")
	storage.Register("mtdispatch", func(ctx context.Context, url string, o storage.OpenOptions) (storage.Engine, error) {
		got = url
		return nil, refused
	})
	if _, err := metatrack.Open(ctx, "mtdispatch://h/x"); !errors.Is(err, refused) || got != "mtdispatch://h/x" {
		t.Errorf("registered scheme: Open = %v, opener saw %q", err, got)
	}

	for _, u := range []string{"a.db", "sqlite:b.db", "file:c.db"} {
		tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun())
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		tr.Close()
	}
}

// TestPathFromURLServers: a URL that is not a file's says why: an unknown
// scheme names the supported ones, a database server's URL says it is not
// a file, without its password.
func TestPathFromURLServers(t *testing.T) {
	_, err := metatrack.PathFromURL("mysql://h/db")
	if !errors.Is(err, metatrack.ErrInvalidArgument) || !strings.Contains(err.Error(), `"mysql" is not supported`) || !strings.Contains(err.Error(), "sqlite:") {
		t.Errorf("PathFromURL(mysql://) = %v, want ErrInvalidArgument naming the supported schemes", err)
	}
	_, err = metatrack.PathFromURL("postgres://alice:s3cret@h/db?schema=team_a")
	if !errors.Is(err, metatrack.ErrInvalidArgument) || !strings.Contains(err.Error(), "not a file") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("PathFromURL(postgres://) = %v, want ErrInvalidArgument saying it is no file, without the password", err)
	}
}
