package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/remote"
	"github.com/metatrack/metatrack/server"
)

// TestClientRun: each client starts a run of its own on the server, named
// by the client, with its host, user and pid; its writes record that run
// and its token's name as the actor; Stop ends it FINISHED, or FAILED with
// the client's error.
func TestClientRun(t *testing.T) { testClientRun(t, serve) }

func testClientRun(t *testing.T, serve func(testing.TB, ...server.Option) (*metatrack.Tracker, string)) {
	ctx := context.Background()
	tr, url := serveAuth(t, serve)
	write := token(t, tr, "trainer", metatrack.RoleWrite)
	read := token(t, tr, "dashboard", metatrack.RoleRead)

	a := dial(t, url, remote.WithToken(write), remote.WithRunName("train-a"))
	b := dial(t, url, remote.WithToken(write), remote.WithRunName("train-b"))
	ra, rb := a.Run(), b.Run()
	host, _ := os.Hostname()
	if ra.ID == "" || ra.ID == rb.ID || ra.ID == tr.Run().ID || ra.Name != "train-a" || ra.Status != metatrack.RunRunning ||
		ra.PID != os.Getpid() || ra.Host != host {
		t.Fatalf("client runs %+v and %+v (server's %s)", ra, rb, tr.Run().ID)
	}
	ds, err := a.CreateResource(ctx, metatrack.TypeDataset, "iris")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.LogTag(ctx, ds, "owner", "b"); err != nil {
		t.Fatal(err)
	}
	if ds.RunID != ra.ID {
		t.Errorf("resource run %s, want the client's %s", ds.RunID, ra.ID)
	}
	hist, err := tr.History(ctx, ds)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history %+v, %v", hist, err)
	}
	if hist[0].RunID != ra.ID || hist[1].RunID != rb.ID || hist[0].Actor != "trainer" || hist[1].Actor != "trainer" {
		t.Errorf("history runs %s %s actors %q %q, want %s %s trainer", hist[0].RunID, hist[1].RunID, hist[0].Actor, hist[1].Actor, ra.ID, rb.ID)
	}
	if got, err := a.Run(), error(nil); got.ID != ra.ID || err != nil {
		t.Errorf("Run after a write = %+v", got)
	}

	if err := a.Stop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("training diverged at step 7")
	if err := b.Stop(ctx, boom); err != nil {
		t.Fatal(err)
	}
	if a.Run().Status != metatrack.RunFinished || b.Run().Status != metatrack.RunFailed {
		t.Errorf("after Stop: %+v %+v", a.Run(), b.Run())
	}
	for id, want := range map[string]metatrack.Run{ra.ID: {Status: metatrack.RunFinished}, rb.ID: {Status: metatrack.RunFailed, Error: boom.Error()}} {
		got, err := tr.GetRun(ctx, id)
		if err != nil || got.Status != want.Status || got.Error != want.Error || got.EndedAt.IsZero() {
			t.Errorf("run %s on the server: %+v %v, want %s %q", id, got, err, want.Status, want.Error)
		}
	}
	if got := tr.Run(); got.Status != metatrack.RunRunning {
		t.Errorf("the server's run: %+v", got)
	}
	if err := a.Stop(ctx, nil); !errors.Is(err, metatrack.ErrClosed) {
		t.Errorf("second Stop: %v", err)
	}

	// A read token starts no run; neither does WithoutRun.
	r := dial(t, url, remote.WithToken(read))
	w := dial(t, url, remote.WithToken(write), remote.WithoutRun())
	if r.Run().ID != "" || w.Run().ID != "" {
		t.Errorf("runs of a reader %+v and of WithoutRun %+v", r.Run(), w.Run())
	}
	if _, err := r.Tags(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if err := w.LogTag(ctx, ds, "k", "v"); err != nil {
		t.Fatal(err)
	}
	hist, _ = tr.History(ctx, ds)
	if last := hist[len(hist)-1]; last.RunID != tr.Run().ID {
		t.Errorf("a write without a client run records %s, want the server's %s", last.RunID, tr.Run().ID)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close of a reader: %v", err)
	}
	runs, _ := tr.Runs(ctx)
	if len(runs) != 3 {
		t.Errorf("%d runs on the server, want 3 (the server's and two clients'): %+v", len(runs), runs)
	}
}

// TestEndRunRefusals: a run ends once; the server's own run ends only with
// the server; an unknown run in the header is not found.
func TestEndRunRefusals(t *testing.T) {
	ctx := context.Background()
	tr, url := serve(t)
	c := dial(t, url)
	run, err := tr.StartRun(ctx, metatrack.RunInfo{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.EndRun(ctx, run.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.EndRun(ctx, run.ID, nil); !errors.Is(err, metatrack.ErrConflict) {
		t.Errorf("ending a run twice: %v, want ErrConflict", err)
	}
	view, err := tr.ForRun(ctx, c.Run().ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := view.EndRun(ctx, tr.Run().ID, nil); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("a client ending the server's run: %v, want ErrInvalidArgument", err)
	}
	if _, err := tr.ForRun(ctx, "01a242e6-9ff0-73f4-8ae0-c8cec6879d91"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Errorf("ForRun of no run: %v", err)
	}
	if _, err := tr.StartRun(ctx, metatrack.RunInfo{Name: ""}); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("StartRun without a name: %v", err)
	}
	status, detail, _ := postHeader(t, url, "LogTag", `{"resource":"x","key":"k","value":"v"}`, api.HeaderRun, "01a242e6-9ff0-73f4-8ae0-c8cec6879d91")
	if status != 404 || detail.Code != "not_found" {
		t.Errorf("unknown run header: %d %+v", status, detail)
	}
}

// serveAuth starts a server that takes the tokens of its own store.
func serveAuth(t *testing.T, serve func(testing.TB, ...server.Option) (*metatrack.Tracker, string)) (*metatrack.Tracker, string) {
	t.Helper()
	var tr *metatrack.Tracker
	tr, url := serve(t, server.WithAuth(func(r *http.Request) (server.Role, string, error) {
		return server.TokenAuth(tr)(r)
	}))
	return tr, url
}

// token makes a token and returns its secret.
func token(t *testing.T, tr *metatrack.Tracker, name, role string) string {
	t.Helper()
	_, secret, err := tr.CreateToken(context.Background(), name, role)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// postHeader posts body to op with one header set and returns the status
// and error detail.
func postHeader(t *testing.T, url, op, body, key, value string) (int, api.ErrorDetail, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/"+op, strings.NewReader(body))
	req.Header.Set(key, value)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var eb api.ErrorBody
	json.Unmarshal(b, &eb)
	return res.StatusCode, eb.Error, string(b)
}
