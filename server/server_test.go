package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/server"
)

func start(t *testing.T, opts ...server.Option) (*metatrack.Tracker, *httptest.Server) {
	t.Helper()
	tr, err := metatrack.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(tr, opts...))
	t.Cleanup(func() { srv.Close(); tr.Close() })
	return tr, srv
}

func post(t *testing.T, srv *httptest.Server, op, body string) (int, api.ErrorDetail, string) {
	t.Helper()
	res, err := http.Post(srv.URL+"/api/v1/"+op, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var eb api.ErrorBody
	json.Unmarshal(b, &eb)
	return res.StatusCode, eb.Error, string(b)
}

// TestBadInput sends what a careless or hostile client sends: each gets
// a 4xx with a stable code and the library's message, nothing is
// written, and the server goes on serving.
func TestBadInput(t *testing.T) {
	tr, srv := start(t, server.WithMaxBodyBytes(1<<10))
	ctx := context.Background()
	ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	_, libErr := tr.CreateResource(ctx, "Bad Type", "x")
	_, libQueryErr := tr.Search(ctx, "tags.x = ")
	cases := []struct {
		name, op, body string
		status         int
		code, message  string
	}{
		{"malformed", "LogTag", `{"resource":`, 400, "invalid_argument", "request body: unexpected EOF"},
		{"wrong type", "LogTag", `{"resource":"` + ds.ID + `","key":"k","value":3}`, 400, "invalid_argument", "cannot unmarshal number"},
		{"unknown field", "LogTag", `{"resource":"` + ds.ID + `","key":"k","value":"v","extra":1}`, 400, "invalid_argument", `unknown field "extra"`},
		{"two values", "LogTag", `{"resource":"` + ds.ID + `","key":"k","value":"v"} {}`, 400, "invalid_argument", "more than one JSON value"},
		{"empty", "LogTag", ``, 400, "invalid_argument", "empty"},
		{"oversized", "LogTag", `{"resource":"` + ds.ID + `","key":"k","value":"` + strings.Repeat("v", 2000) + `"}`, 413, "payload_too_large", "over 1024 bytes"},
		{"library refusal", "CreateResource", `{"type":"Bad Type","name":"x","options":{}}`, 400, "invalid_argument", libErr.Error()},
		{"refused query", "Search", `{"filter":"tags.x = ","options":{}}`, 400, "invalid_query", libQueryErr.Error()},
		{"not found", "GetTag", `{"resource":"` + ds.ID + `","key":"nope"}`, 404, "not_found", "nope"},
		{"no such operation", "Nope", `{}`, 404, "not_found", "no operation"},
		{"ragged metric columns", "LogMetrics", `{"resource":"` + ds.ID + `","key":"loss","steps":[0,1],"values":[0.5]}`, 400, "invalid_argument", "2 steps, 1 values"},
		{"bad non-finite", "LogMetrics", `{"resource":"` + ds.ID + `","key":"loss","steps":[0],"values":[0],"non_finite":{"0":"Infinity"}}`, 400, "invalid_argument", "want NaN, +Inf or -Inf"},
	}
	for _, c := range cases {
		status, detail, body := post(t, srv, c.op, c.body)
		if status != c.status || detail.Code != c.code || !strings.Contains(detail.Message, c.message) {
			t.Errorf("%s: %d %s, want %d %s containing %q", c.name, status, body, c.status, c.code, c.message)
		}
	}
	// Path tricks in artifact names are the library's refusal too.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/api/v1/artifact?resource="+ds.ID+"&name=../../etc/passwd", strings.NewReader("x"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var eb api.ErrorBody
	json.NewDecoder(res.Body).Decode(&eb)
	res.Body.Close()
	if res.StatusCode != 400 || eb.Error.Code != "invalid_argument" {
		t.Errorf("path trick: %d %+v", res.StatusCode, eb)
	}
	// A wrong method is a JSON error too.
	res, err = http.Get(srv.URL + "/api/v1/LogTag")
	if err != nil {
		t.Fatal(err)
	}
	eb = api.ErrorBody{}
	json.NewDecoder(res.Body).Decode(&eb)
	res.Body.Close()
	if res.StatusCode != 405 || eb.Error.Code != "method_not_allowed" || res.Header.Get("Allow") != "POST" {
		t.Errorf("GET LogTag: %d %+v", res.StatusCode, eb)
	}
	// Nothing was written.
	if tags, _ := tr.Tags(ctx, ds); len(tags) != 0 {
		t.Errorf("bad requests wrote tags: %v", tags)
	}
	if sums, _ := tr.Metrics(ctx, ds); len(sums) != 0 {
		t.Errorf("bad requests wrote metric points: %v", sums)
	}
	if arts, _ := tr.Artifacts(ctx, ds, ""); len(arts) != 0 {
		t.Errorf("bad requests wrote artifacts: %v", arts)
	}
	// The server keeps serving.
	if status, _, body := post(t, srv, "LogTag", `{"resource":"`+ds.ID+`","key":"k","value":"v"}`); status != 200 {
		t.Fatalf("good request after bad ones: %d %s", status, body)
	}
	if v, err := tr.GetTag(ctx, ds, "k"); err != nil || v != "v" {
		t.Fatalf("tag = %q, %v", v, err)
	}
}

// TestErrorCodesRoundTrip: every code the server sends turns back into an
// error matching the sentinels it came from.
func TestErrorCodesRoundTrip(t *testing.T) {
	for _, sentinel := range []error{metatrack.ErrNotFound, metatrack.ErrDeleted, metatrack.ErrInvalidArgument, metatrack.ErrInvalidQuery,
		metatrack.ErrAmbiguous, metatrack.ErrAlreadyExists, metatrack.ErrConflict, metatrack.ErrResourceClosed,
		metatrack.ErrReadOnly, metatrack.ErrSchemaTooOld, metatrack.ErrNoPath, metatrack.ErrExternalArtifact, metatrack.ErrClosed} {
		err := errors.Join(errors.New("context"), sentinel)
		code, status := api.Classify(err)
		back := &api.Error{Code: code, Status: status, Message: err.Error()}
		if !errors.Is(back, sentinel) || code == api.CodeInternal {
			t.Errorf("%v: code %s does not map back", sentinel, code)
		}
	}
	if code, _ := api.Classify(metatrack.ErrInvalidQuery); code != "invalid_query" {
		t.Errorf("invalid query is %s", code)
	}
	if !errors.Is(&api.Error{Code: "invalid_query"}, metatrack.ErrInvalidArgument) {
		t.Error("invalid_query does not match ErrInvalidArgument")
	}
}
