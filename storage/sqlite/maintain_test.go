package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack/storage/sqlite"
)

func openMaintain(tb testing.TB) *sqlite.DB {
	tb.Helper()
	d, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// execAll runs statements in one write transaction.
func execAll(tb testing.TB, d *sqlite.DB, stmts ...string) {
	tb.Helper()
	err := d.WriteConn(context.Background(), func(tx *sqlite.Tx) error {
		for _, s := range stmts {
			if _, err := tx.ExecContext(context.Background(), s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// addBlob stores data as a complete blob of chunks of chunkSize bytes
// under the hash sum (pass "" for the true one) and returns its seq.
func addBlob(tb testing.TB, d *sqlite.DB, data []byte, chunkSize int, sum string, createdAt int64) int64 {
	tb.Helper()
	if sum == "" {
		sum = sha(data)
	}
	var seq int64
	err := d.WriteConn(context.Background(), func(tx *sqlite.Tx) error {
		res, err := tx.ExecContext(context.Background(), `INSERT INTO blobs (sha256, size, chunk_size, created_at) VALUES (?, ?, ?, ?)`,
			sum, len(data), chunkSize, createdAt)
		if err != nil {
			return err
		}
		seq, _ = res.LastInsertId()
		for i := 0; i*chunkSize < len(data); i++ {
			chunk := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
			if _, err := tx.ExecContext(context.Background(), `INSERT INTO blob_chunks (blob_seq, idx, data) VALUES (?, ?, ?)`, seq, i, chunk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return seq
}

func TestVerifyEmptyIsOK(t *testing.T) {
	rep, err := sqlite.Verify(context.Background(), openMaintain(t), nil)
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, rep.Problems)
	}
}

func TestVerifyFindsEachProblem(t *testing.T) {
	ctx := context.Background()
	d := openMaintain(t)
	execAll(t, d,
		// A chain with a gap (1, 3), a member under the wrong parent, one
		// without its version edge, a non-chain type with a version.
		`INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES (1, 'd', 'dataset', 'd', 0, 0)`,
		`INSERT INTO resources (seq, id, type, name, version, parent_seq, created_at, updated_at) VALUES (2, 'd1', 'dataset_version', 'd', 1, 1, 0, 0)`,
		`INSERT INTO resources (seq, id, type, name, version, parent_seq, created_at, updated_at) VALUES (3, 'd3', 'dataset_version', 'd', 3, 1, 0, 0)`,
		`INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (1, 2, 'version', 0), (1, 3, 'version', 0)`,
		`INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES (4, 'e', 'dataset', 'e', 0, 0)`,
		`INSERT INTO resources (seq, id, type, name, version, parent_seq, created_at, updated_at) VALUES (5, 'x1', 'dataset_version', 'x', 1, 4, 0, 0)`,
		`INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES (6, 'f', 'dataset', 'f', 0, 0)`,
		`INSERT INTO resources (seq, id, type, name, version, parent_seq, created_at, updated_at) VALUES (7, 'f1', 'dataset_version', 'f', 1, 6, 0, 0)`,
		`INSERT INTO resources (seq, id, type, name, version, created_at, updated_at) VALUES (8, 't', 'thing', 't', 1, 0, 0)`,
		// Bad JSON.
		`INSERT INTO resources (seq, id, type, name, attrs, created_at, updated_at) VALUES (9, 'j', 'thing', 'j', '{oops', 0, 0)`,
		// Two models; a deployment of a version of the other model, and one
		// that ends before it starts.
		`INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES (10, 'm', 'model', 'm', 0, 0), (11, 'n', 'model', 'n', 0, 0)`,
		`INSERT INTO resources (seq, id, type, name, version, parent_seq, created_at, updated_at) VALUES (12, 'm1', 'model_version', 'm', 1, 10, 0, 0)`,
		`INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (10, 12, 'version', 0), (4, 5, 'version', 0)`,
		// A version DEPLOYED with no deployment (m1 has open ones and no
		// status).
		`INSERT INTO resources (seq, id, type, name, version, parent_seq, status, created_at, updated_at) VALUES (13, 'm2', 'model_version', 'm', 2, 10, 'DEPLOYED', 0, 0)`,
		`INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (10, 13, 'version', 0)`,
		// An experiment, named uniquely only under its model version.
		`INSERT INTO resources (seq, id, type, name, parent_seq, created_at, updated_at) VALUES (14, 'ex', 'experiment', 'trial-2', 12, 0, 0)`,
		`INSERT INTO deployments (id, model_seq, model_version_seq, environment, deployed_at, undeployed_at) VALUES ('dep-other', 11, 12, 'default', 5, NULL)`,
		`INSERT INTO deployments (id, model_seq, model_version_seq, environment, deployed_at, undeployed_at) VALUES ('dep-back', 10, 12, 'default', 9, 3)`,
	)
	good := []byte(strings.Repeat("0123456789", 50))
	goodSeq := addBlob(t, d, good, 64, "", 0)
	badSeq := addBlob(t, d, []byte("hello world"), 4, sha([]byte("hello there")), 0)
	holeSeq := addBlob(t, d, []byte("abcdefgh"), 4, "", 0)
	execAll(t, d,
		`DELETE FROM blob_chunks WHERE blob_seq = `+itoa(holeSeq)+` AND idx = 0`,
		`INSERT INTO blobs (seq, chunk_size, created_at) VALUES (100, 4, 0)`, // staged
		`INSERT INTO artifacts (id, resource_seq, name, kind, size, sha256, blob_seq, created_at) VALUES
			('a-good', 2, 'good', 'artifact', 500, '`+sha(good)+`', `+itoa(goodSeq)+`, 0),
			('a-staged', 2, 'staged', 'artifact', 0, '', 100, 0),
			('a-size', 2, 'size', 'artifact', 499, '`+sha(good)+`', `+itoa(goodSeq)+`, 0),
			('a-none', 2, 'none', 'artifact', 0, '', NULL, 0),
			('a-bad', 2, 'bad', 'artifact', 11, '`+sha([]byte("hello there"))+`', `+itoa(badSeq)+`, 0),
			('a-bad-too', 9, 'bad-too', 'artifact', 11, '`+sha([]byte("hello there"))+`', `+itoa(badSeq)+`, 0),
			('a-bad-ex', 14, 'roc.csv', 'artifact', 11, '`+sha([]byte("hello there"))+`', `+itoa(badSeq)+`, 0)`,
	)
	// A dangling reference, written past the foreign-key check.
	raw, err := sql.Open("sqlite", "file:"+d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO tags (resource_seq, key, value, updated_at) VALUES (999, 'k', 'v', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	var calls int
	var last, total int64
	rep, err := sqlite.Verify(ctx, d, func(done, tot int64) { calls++; last, total = done, tot })
	if err != nil {
		t.Fatal(err)
	}
	if calls < 3 || last != total {
		t.Errorf("progress: %d calls, ended at %d of %d", calls, last, total)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.String())
	}
	want := []string{
		"foreign_key: tags",
		"json: resource j: the attrs is not valid JSON",
		"chain: resource t: the thing \"t\" has a version number but is not a chain type",
		"chain: chain dataset_version/d: 2 members numbered up to 3: missing version 2",
		"chain: dataset_version/x@1 (x1): its parent is the dataset \"e\", not the chain head dataset/x",
		"chain: dataset_version/f@1 (f1): the version edge from its chain head is missing",
		"deployment: deployment dep-other: deploys a version of another model than its own",
		"deployment: deployment dep-back: ends before it starts",
		`deployment: model_version/m@1 (m1): it has an open deployment, but its status is "", not DEPLOYED`,
		"deployment: model_version/m@2 (m2): its status is DEPLOYED, but no deployment of it is open",
		"artifact: artifact staged of d1 (a-staged): its blob is an unfinished upload",
		"artifact: artifact size of d1 (a-size): records SHA-256",
		"artifact: artifact none of d1 (a-none): has neither stored bytes nor a URI",
		"blob: blob " + sha([]byte("hello there")) + ": the SHA-256 of its bytes is " + sha([]byte("hello world")) +
			"; it breaks bad of dataset_version/d@1 (d1), bad-too of thing/j (j), roc.csv of model_version/m@1/experiment/trial-2 (ex)",
		"blob: blob " + sha([]byte("abcdefgh")) + ": chunk 0 is missing; no artifact uses it",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing problem %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, p := range rep.Problems {
		if p.Kind == sqlite.ProblemBlob && strings.Contains(p.What, sha([]byte("hello there"))) {
			want := []sqlite.Hit{{Artifact: "bad", ArtifactID: "a-bad", ResourceID: "d1", ResourceRef: "dataset_version/d@1"},
				{Artifact: "bad-too", ArtifactID: "a-bad-too", ResourceID: "j", ResourceRef: "thing/j"},
				{Artifact: "roc.csv", ArtifactID: "a-bad-ex", ResourceID: "ex", ResourceRef: "model_version/m@1/experiment/trial-2"}}
			if !slices.Equal(p.Hits, want) {
				t.Errorf("hits of the damaged blob = %+v, want %+v", p.Hits, want)
			}
		}
	}
	if rep.OK() || rep.Blobs != 3 {
		t.Errorf("OK %v, %d blobs", rep.OK(), rep.Blobs)
	}
}

// TestVerifyAttrIndexAndHistory: the attribute index out of step with
// the attrs (a row missing, one too many, a value changed) and a
// change-log entry without an id are reported.
func TestVerifyAttrIndexAndHistory(t *testing.T) {
	ctx := context.Background()
	d := openMaintain(t)
	execAll(t, d,
		`INSERT INTO resources (seq, id, type, name, attrs, created_at, updated_at) VALUES (1, 'a', 'dataset', 'a', '{"n": 1, "s": "x", "o": [1]}', 0, 0)`,
		`INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES (2, 'b', 'dataset', 'b', 0, 0)`,
		`INSERT INTO history (id, resource_seq, at, kind) VALUES ('h-1', 1, 0, 'created')`,
		`INSERT INTO history (id, resource_seq, at, kind, key) VALUES (NULL, 1, 0, 'tag', 'k')`,
	)
	if rep, err := sqlite.Verify(ctx, d, nil); err != nil || len(rep.Problems) != 1 {
		t.Fatalf("before the damage: %v, %v", rep.Problems, err)
	}
	execAll(t, d,
		`DELETE FROM attr_values WHERE resource_seq = 1 AND key = 'o'`,
		`UPDATE attr_values SET num = 2 WHERE resource_seq = 1 AND key = 'n'`,
		`INSERT INTO attr_values (resource_seq, key, str) VALUES (1, 'ghost', 'g')`,
	)
	rep, err := sqlite.Verify(ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.String())
	}
	want := []string{
		`history: history entry #2 of resource a: has no id`,
		`attr_index: attribute "ghost" of resource a: is in the index (attr_values) but not in the resource's attrs`,
		`attr_index: attribute "n" of resource a: its value in the index (attr_values) differs from the resource's attrs`,
		`attr_index: attribute "o" of resource a: is in the resource's attrs but not in its index (attr_values)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestGCStagedAgeAndDryRun(t *testing.T) {
	ctx := context.Background()
	d := openMaintain(t)
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	execAll(t, d, `INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES (1, 'r', 'thing', 'r', 0, 0)`)
	used := addBlob(t, d, []byte("used bytes"), 4, "", 0)
	addBlob(t, d, []byte("orphan bytes"), 4, "", 0)
	execAll(t, d,
		`INSERT INTO artifacts (id, resource_seq, name, kind, size, sha256, blob_seq, created_at) VALUES ('a', 1, 'a', 'artifact', 10, '`+sha([]byte("used bytes"))+`', `+itoa(used)+`, 0)`,
		`INSERT INTO blobs (seq, chunk_size, created_at) VALUES (50, 4, `+itoa(now.Add(-2*time.Hour).UnixMilli())+`)`,
		`INSERT INTO blob_chunks (blob_seq, idx, data) VALUES (50, 0, x'00010203')`,
		`INSERT INTO blobs (seq, chunk_size, created_at) VALUES (51, 4, `+itoa(now.Add(-30*time.Minute).UnixMilli())+`)`,
		`INSERT INTO blob_chunks (blob_seq, idx, data) VALUES (51, 0, x'00010203')`,
	)
	opts := sqlite.GCOptions{StagedAge: time.Hour, Now: func() time.Time { return now }, DryRun: true}
	dry, err := sqlite.GC(ctx, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := sqlite.GCStats{Blobs: 1, Staged: 1, KeptStaged: 1, Chunks: 3 + 1, Bytes: 12 + 4}
	dry.FreeBytes = 0
	if dry != want {
		t.Errorf("dry run: %+v, want %+v", dry, want)
	}
	var blobs int
	d.Readers.Get(&blobs, `SELECT count(*) FROM blobs`)
	if blobs != 4 {
		t.Errorf("the dry run removed blobs: %d left", blobs)
	}
	opts.DryRun = false
	st, err := sqlite.GC(ctx, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	st.FreeBytes = 0
	if st != want {
		t.Errorf("gc: %+v, want %+v", st, want)
	}
	var left []int64
	d.Readers.Select(&left, `SELECT seq FROM blobs ORDER BY seq`)
	if !slices.Equal(left, []int64{used, 51}) {
		t.Errorf("blobs left: %v", left)
	}
	var chunks int
	d.Readers.Get(&chunks, `SELECT count(*) FROM blob_chunks WHERE blob_seq NOT IN (SELECT seq FROM blobs)`)
	if chunks != 0 {
		t.Errorf("%d chunks of removed blobs left", chunks)
	}
}

func TestVacuumShrinksAfterGC(t *testing.T) {
	ctx := context.Background()
	d := openMaintain(t)
	addBlob(t, d, make([]byte, 4<<20), 1<<20, "", 0)
	st, err := sqlite.GC(ctx, d, sqlite.GCOptions{})
	if err != nil || st.Blobs != 1 || st.Bytes != 4<<20 || st.FreeBytes < 4<<20 {
		t.Fatalf("gc: %+v %v", st, err)
	}
	if err := d.Vacuum(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 1<<20 {
		t.Errorf("file is %d bytes after vacuum", info.Size())
	}
	// Writes go on after it.
	execAll(t, d, `INSERT INTO resources (id, type, name, created_at, updated_at) VALUES ('r', 'thing', 'r', 0, 0)`)
}
