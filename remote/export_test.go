package remote_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/portable"
)

// TestExportImport: an export streamed from one server imports into
// another, and a truncated one is refused with the library's error and
// changes nothing.
func TestExportImport(t *testing.T) {
	ctx := context.Background()
	_, fromURL := serve(t)
	to, toURL := serve(t)
	from := dial(t, fromURL)
	ds, err := from.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	if err := from.LogTag(ctx, ds, "k", "v"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	st, err := from.Export(ctx, &buf, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Kinds[portable.KindResource] == 0 || buf.Len() == 0 {
		t.Fatalf("export counts %+v, %d bytes", st, buf.Len())
	}
	dst := dial(t, toURL)
	cut := buf.String()[:buf.Len()/2]
	if _, err := dst.Import(ctx, strings.NewReader(cut), false); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Fatalf("truncated import: %v", err)
	}
	if _, err := to.GetResource(ctx, ds.ID, ""); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("a refused import wrote: %v", err)
	}
	if _, err := dst.Import(ctx, bytes.NewReader(buf.Bytes()), false); err != nil {
		t.Fatal(err)
	}
	if v, err := to.GetTag(ctx, ds, "k"); err != nil || v != "v" {
		t.Fatalf("imported tag = %q, %v", v, err)
	}
}
