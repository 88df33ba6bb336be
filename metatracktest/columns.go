package metatracktest

import (
	"reflect"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/query"
)

// testSearchColumns: Search brings the values of the columns asked for,
// for every row of the page, and only those.
func (s suite) testSearchColumns(t *testing.T) {
	tr := s.open(t)
	sweep := must(tr.CreateResource(ctx, metatrack.TypeSweep, "lr-sweep")).of(t)
	var trials []metatrack.Resource
	for i := 0; i < 5; i++ {
		e := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(sweep.ID),
			metatrack.WithAttr("lr", 0.1*float64(i+1)), metatrack.WithAttr("opt", map[string]any{"name": "sgd", "momentum": i}))).of(t)
		noErr(t, tr.LogMetadata(ctx, e, "auc", 0.8+float64(i)/100))
		noErr(t, tr.LogMetadata(ctx, e, "params", map[string]any{"depth": i, "trees": 100}))
		if i != 2 {
			noErr(t, tr.LogTag(ctx, e, "owner", "ann"))
		}
		noErr(t, tr.LogTag(ctx, e, "note", "n"))
		trials = append(trials, e)
	}
	// Metric series: trial i's loss falls from 1 over i+2 points; trial 0
	// also has an accuracy series, trial 4 none.
	for i, e := range trials[:4] {
		for step := range i + 2 {
			noErr(t, tr.LogMetric(ctx, e, "loss", 1/float64(step+1), metatrack.WithStep(int64(step*10))))
		}
	}
	noErr(t, tr.LogMetric(ctx, trials[0], "accuracy", 0.5))
	// Another resource's values must not leak into the rows.
	other := must(tr.CreateResource(ctx, metatrack.TypeDataset, "d")).of(t)
	noErr(t, tr.LogTag(ctx, other, "owner", "bob"))

	page := must(tr.Search(ctx, "type = 'experiment' AND metadata.auc > 0.805 ORDER BY metadata.auc DESC",
		metatrack.WithPageSize(3), metatrack.WithColumns("attrs.lr", "metadata.auc", "tags.owner", "metadata.params.depth", "attrs.opt.name", "status", "version"))).of(t)
	if len(page.Rows) != 3 || len(page.Resources) != 3 || page.Next == "" {
		t.Fatalf("page has %d rows, %d resources, next %q; want 3, 3 and a cursor", len(page.Rows), len(page.Resources), page.Next)
	}
	var names []string
	for _, c := range page.Columns {
		names = append(names, c.String())
	}
	if want := []string{"attrs.lr", "metadata.auc", "tags.owner", "metadata.params.depth", "attrs.opt.name", "status", "version"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("columns = %v, want %v", names, want)
	}
	type cell struct {
		v  any
		ok bool
	}
	for i, row := range page.Rows {
		trial := trials[4-i]
		if row.ID != trial.ID || page.Resources[i].ID != trial.ID {
			t.Fatalf("row %d is %s, want %s", i, row.Ref(), trial.Ref())
		}
		var got []cell
		for _, c := range page.Columns {
			v, ok := row.Value(c)
			got = append(got, cell{v, ok})
		}
		n := 4 - i
		want := []cell{{0.1 * float64(n+1), true}, {0.8 + float64(n)/100, true}, {"ann", true},
			{int64(n), true}, {"sgd", true}, {"", true}, {nil, false}}
		if n == 2 {
			want[2] = cell{nil, false}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %s: %v, want %v", row.Ref(), got, want)
		}
		// Only the keys asked for are read.
		if _, ok := row.Tags["note"]; ok {
			t.Errorf("row %s carries tag note, which was not asked for", row.Ref())
		}
		if len(row.Metadata) != 2 {
			t.Errorf("row %s metadata = %v, want auc and params", row.Ref(), row.Metadata)
		}
	}
	// The next page carries the columns too.
	next := must(tr.Search(ctx, "type = 'experiment' AND metadata.auc > 0.805 ORDER BY metadata.auc DESC",
		metatrack.WithPageSize(3), metatrack.WithCursor(page.Next), metatrack.WithColumns("tags.owner"))).of(t)
	if len(next.Rows) != 1 || next.Rows[0].ID != trials[1].ID || next.Rows[0].Tags["owner"] != "ann" {
		t.Fatalf("second page rows = %+v", next.Rows)
	}

	// tags.* and metadata.* bring everything; created_at comes as a time.
	all := must(tr.Search(ctx, "id = '"+trials[0].ID+"'", metatrack.WithColumns("tags.*", "metadata.*", "attrs.*", "created_at", "parent"))).of(t)
	if len(all.Rows) != 1 {
		t.Fatalf("rows = %d, want 1", len(all.Rows))
	}
	r := all.Rows[0]
	if want := map[string]string{"owner": "ann", "note": "n"}; !reflect.DeepEqual(r.Tags, want) {
		t.Errorf("tags.* = %v, want %v", r.Tags, want)
	}
	if want := map[string]any{"auc": 0.8, "params": map[string]any{"depth": int64(0), "trees": int64(100)}}; !reflect.DeepEqual(r.Metadata, want) {
		t.Errorf("metadata.* = %v, want %v", r.Metadata, want)
	}
	if v, _ := r.Value(all.Columns[0]); !reflect.DeepEqual(v, r.Tags) {
		t.Errorf("Value(tags.*) = %v", v)
	}
	if v, _ := r.Value(all.Columns[2]); !reflect.DeepEqual(v, r.Attrs) {
		t.Errorf("Value(attrs.*) = %v", v)
	}
	if v, ok := r.Value(all.Columns[3]); !ok || !v.(time.Time).Equal(trials[0].CreatedAt) {
		t.Errorf("Value(created_at) = %v, %v", v, ok)
	}
	if v, ok := r.Value(all.Columns[4]); !ok || v != sweep.ID {
		t.Errorf("Value(parent) = %v, want the sweep's id", v)
	}

	// A resource without any value of a kind asked for gets an empty map.
	none := must(tr.Search(ctx, "type = 'sweep'", metatrack.WithColumns("tags.*", "metadata.auc"))).of(t)
	if len(none.Rows) != 1 || none.Rows[0].Tags == nil || len(none.Rows[0].Tags) != 0 || len(none.Rows[0].Metadata) != 0 {
		t.Fatalf("sweep row = %+v", none.Rows)
	}
	// Without WithColumns, no rows.
	bare := must(tr.Search(ctx, "type = 'experiment'")).of(t)
	if bare.Rows != nil || bare.Columns != nil || len(bare.Resources) != 5 {
		t.Fatalf("search without columns: %d rows, %d columns, %d resources", len(bare.Rows), len(bare.Columns), len(bare.Resources))
	}

	// Metric columns: the last value, parts of the summary, all of them.
	met := must(tr.Search(ctx, "type = 'experiment' ORDER BY attrs.lr",
		metatrack.WithColumns("metrics.loss", "metrics.loss.min", "metrics.loss.max", "metrics.loss.count", "metrics.loss.step", "metrics.accuracy.last"))).of(t)
	if len(met.Rows) != 5 || met.Columns[5].String() != "metrics.accuracy" {
		t.Fatalf("%d rows, columns %v", len(met.Rows), met.Columns)
	}
	for i, row := range met.Rows {
		var got []any
		for _, c := range met.Columns {
			v, _ := row.Value(c)
			got = append(got, v)
		}
		want := []any{1 / float64(i+2), 1 / float64(i+2), 1.0, int64(i + 2), int64((i + 1) * 10), nil}
		if i == 0 {
			want[5] = 0.5
		}
		if i == 4 {
			want = []any{nil, nil, nil, nil, nil, nil}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d: %v, want %v", i, got, want)
		}
		if _, ok := row.Metrics["accuracy"]; ok != (i == 0) || row.Metrics == nil {
			t.Errorf("row %d metrics = %v", i, row.Metrics)
		}
	}
	allMet := must(tr.Search(ctx, "id = '"+trials[0].ID+"'", metatrack.WithColumns("metrics.*"))).of(t)
	if m := allMet.Rows[0].Metrics; len(m) != 2 || m["loss"].Count != 2 || m["accuracy"].Last != 0.5 {
		t.Errorf("metrics.* = %+v", m)
	}

	for _, bad := range []string{"", "tags", "tags.a.b", "nosuch", "metadata", "status.x", "run.name", "foo.*", "tags.owner extra", "attrs.`a\"b`",
		"metrics", "metrics.loss.median", "metrics.a.b.c", "metrics.loss.`min`", "metrics.``"} {
		_, err := tr.Search(ctx, "", metatrack.WithColumns(bad))
		wantErr(t, err, metatrack.ErrInvalidArgument)
		wantErr(t, err, metatrack.ErrInvalidQuery)
	}
	// Columns print back as they parse.
	for _, src := range []string{"tags.`a b`", "metadata.params.lr", "tags.*", "attrs.`x.y`", "created_at",
		"metrics.loss", "metrics.loss.min", "metrics.`val.loss`.count", "metrics.*"} {
		c, err := query.ParseColumn(src)
		noErr(t, err)
		again, err := query.ParseColumn(c.String())
		noErr(t, err)
		if !reflect.DeepEqual(c, again) || c.String() != src {
			t.Errorf("column %q printed as %q, read back as %+v", src, c.String(), again)
		}
	}
}

// testSweeps: trials recorded before any model version exists, grouped
// under a sweep; the winner later becomes a model version's winning
// experiment, while experiments of a model version keep the seed's rules.
func (s suite) testSweeps(t *testing.T) {
	tr := s.open(t)
	sweep := must(tr.CreateResource(ctx, metatrack.TypeSweep, "lr-sweep")).of(t)
	var trials []metatrack.Resource
	for i := 0; i < 3; i++ {
		e := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(sweep.Ref()),
			metatrack.WithAttr("lr", float64(i+1)/10))).of(t)
		noErr(t, tr.LogMetadata(ctx, e, "auc", 0.7+float64(i)/10))
		trials = append(trials, e)
	}
	// Names are unique among one sweep's trials, as under a model version.
	must(tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-a", metatrack.WithParent(sweep.ID))).of(t)
	_, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-a", metatrack.WithParent(sweep.ID))
	wantErr(t, err, metatrack.ErrAlreadyExists)
	kids := must(tr.Children(ctx, sweep, metatrack.TypeExperiment)).of(t)
	if len(kids) != 4 || kids[0].ParentID != sweep.ID {
		t.Fatalf("the sweep has %d experiments, want 4", len(kids))
	}
	best := must(tr.Search(ctx, "type = 'experiment' AND parent = '"+sweep.ID+"' ORDER BY metadata.auc DESC LIMIT 1")).of(t)
	if len(best.Resources) != 1 || best.Resources[0].ID != trials[2].ID {
		t.Fatalf("best trial = %v", best.Resources)
	}

	// The model version comes later; the sweep's best trial wins it.
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	noErr(t, tr.LogMetadata(ctx, mv, metatrack.MetadataWinningExperimentID, trials[2].ID))
	if w := must(tr.GetWinningExperiment(ctx, mv)).of(t); w.ID != trials[2].ID {
		t.Fatalf("winner = %s, want the sweep's best trial", w.Ref())
	}
	noErr(t, tr.SetWinningExperiment(ctx, mv, trials[1]))
	if w := must(tr.GetWinningExperiment(ctx, mv)).of(t); w.ID != trials[1].ID {
		t.Fatalf("winner = %s", w.Ref())
	}

	// Still refused: an experiment without a parent, under a dataset, and
	// promotions or prediction jobs under a sweep.
	_, err = tr.CreateResource(ctx, metatrack.TypeExperiment, "")
	wantErr(t, err, metatrack.ErrInvalidArgument)
	d := must(tr.CreateResource(ctx, metatrack.TypeDataset, "d")).of(t)
	_, err = tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(d.ID))
	wantErr(t, err, metatrack.ErrInvalidArgument)
	for _, typ := range []string{metatrack.TypePromotion, metatrack.TypePredictionJob} {
		_, err = tr.CreateResource(ctx, typ, "", metatrack.WithParent(sweep.ID))
		wantErr(t, err, metatrack.ErrInvalidArgument)
	}
	// A winner must be an experiment of this model version or of a sweep.
	other := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	stranger := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(other.ID))).of(t)
	wantErr(t, tr.SetWinningExperiment(ctx, mv, stranger), metatrack.ErrInvalidArgument)
	if w := must(tr.GetWinningExperiment(ctx, mv)).of(t); w.ID != trials[1].ID {
		t.Fatalf("a refused winner changed it to %s", w.Ref())
	}
}
