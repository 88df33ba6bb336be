package metatrack_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
)

// importMemChild is the child of TestImportMemory: it imports the file
// $METATRACK_TEST_DIR/big.ndjson into the database $METATRACK_TEST_DB and
// reports the growth of its peak RSS during the import.
func importMemChild(ctx context.Context, enc *json.Encoder) error {
	tr, err := metatrack.Open(ctx, os.Getenv(procDBEnv), metatrack.WithoutRun())
	if err != nil {
		return err
	}
	defer tr.Close()
	f, err := os.Open(filepath.Join(os.Getenv(procDirEnv), "big.ndjson"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := procBarrier(); err != nil {
		return err
	}
	runtime.GC()
	base, err := bigMaxRSS()
	if err != nil {
		return err
	}
	_, ierr := tr.Import(ctx, f)
	peak, err := bigMaxRSS()
	if err != nil {
		return err
	}
	msg := ""
	if ierr != nil {
		msg = ierr.Error()
		if len(msg) > 300 {
			msg = msg[:300]
		}
	}
	return enc.Encode(procRecord{Kind: "done", Size: peak - base, Value: msg})
}

// importWithLongLine writes an export of a small database with one extra
// metadata record whose value is a JSON string of n bytes, and returns the
// path of the (empty) database to import it into.
func importWithLongLine(t *testing.T, dir string, n int) string {
	t.Helper()
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, filepath.Join(dir, "src.db"), metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.LogMetadata(ctx, res, "small", "x"); err != nil {
		t.Fatal(err)
	}
	var exp bytes.Buffer
	if _, err := tr.Export(ctx, &exp); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	f, err := os.Create(filepath.Join(dir, "big.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, line := range strings.SplitAfter(exp.String(), "\n") {
		switch {
		case strings.HasPrefix(line, `{"format"`), strings.HasPrefix(line, `{"kind":"end"`):
			// One record more.
			var m map[string]any
			json.Unmarshal([]byte(line), &m)
			m["records"] = m["records"].(float64) + 1
			b, _ := json.Marshal(m)
			line = string(b) + "\n"
		case strings.HasPrefix(line, `{"kind":"metadata"`):
			w.WriteString(line)
			big := strings.Replace(line, `"small"`, `"big"`, 1)
			i := strings.Index(big, `"value":`) + len(`"value":`)
			j := strings.Index(big[i:], ",") + i
			w.WriteString(big[:i] + `"`)
			w.WriteString(strings.Repeat("v", n))
			w.WriteString(`"` + big[j:])
			continue
		}
		w.WriteString(line)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return filepath.Join(dir, "dst.db")
}

// TestImportMemory: importing a file with a 50 MiB line (a metadata
// value, which the rule book then refuses for its size) peaks at about
// twice the line in memory. Before, the line was read into a growing
// buffer and copied again by a json.Decoder, and the import peaked at 4 to
// 8 times the line (a 53 MB line, 334 MB). METATRACK_LINE=<bytes> measures
// another length.
func TestImportMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("METATRACK_LINE"))
	if n == 0 {
		n = 50 << 20
	}
	ctx := procContext(t)
	dir := t.TempDir()
	dst := importWithLongLine(t, dir, n)
	g := procStart(t, ctx, 1, "importmem", func(int) []string {
		return []string{procDBEnv + "=" + dst, procDirEnv + "=" + dir}
	})
	g.waitReady(t)
	g.release()
	g.wait(t)
	recs := g.records(t)
	if len(recs) != 1 {
		t.Fatalf("the child printed %v", recs)
	}
	grew := recs[0].Size
	t.Logf("a line of %d MiB: the peak RSS grew by %d MiB (%.1fx); import: %s", n>>20, grew>>20, float64(grew)/float64(n), recs[0].Value)
	if bound := int64(2*n) + 40<<20; grew > bound {
		t.Errorf("importing a line of %d bytes grew the peak RSS by %d bytes, above twice the line plus 40 MiB (%d)", n, grew, bound)
	}
	if n > 16<<20 && recs[0].Value == "" {
		t.Error("a metadata value over the limit was imported")
	}
}
