package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

func post(t *testing.T, srv *httptest.Server, op, body string, header ...string) (int, api.ErrorDetail, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/"+op, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
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

// TestBadInput sends what a careless or hostile client sends: each gets
// a 4xx with a stable code and the library's message, nothing is
// written, and the server goes on serving.
func TestBadInput(t *testing.T) {
	tr, srv := start(t, server.WithMaxBodyBytes(1<<10), server.WithMaxArtifactBytes(1<<10))
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
		{"wrong type", "LogTag", `{"resource":"` + ds.ID + `","key":"k","value":3}`, 400, "invalid_argument", "request body: value: a number where a string belongs"},
		{"wrong nested type", "LogMetric", `{"resource":"` + ds.ID + `","key":"l","point":{"step":"x","value":2}}`, 400, "invalid_argument", "request body: point.step: a string where an integer belongs"},
		{"number too big", "LogMetric", `{"resource":"` + ds.ID + `","key":"l","point":{"step":1e400,"value":2}}`, 400, "invalid_argument", "point.step: a number 1e400 where an integer belongs"},
		{"metric value not a number", "LogMetric", `{"resource":"` + ds.ID + `","key":"l","point":{"step":1,"value":"abc"}}`, 400, "invalid_argument", `request body: "abc" is not a number`},
		{"unknown nested field", "LogMetric", `{"resource":"` + ds.ID + `","key":"l","point":{"step":1,"value":2,"bogus":3}}`, 400, "invalid_argument", `unknown field "bogus"`},
		{"unknown option", "CreateResource", `{"type":"dataset","name":"x","options":{"parentt":"a"}}`, 400, "invalid_argument", `unknown field "parentt"`},
		{"not UTF-8", "LogTag", "{\"resource\":\"" + ds.ID + "\",\"key\":\"k\",\"value\":\"a\xffb\"}", 400, "invalid_argument", "request body: not valid UTF-8 (byte 72)"},
		{"lone surrogate", "LogTag", `{"resource":"` + ds.ID + `","key":"k","value":"a\ud800b"}`, 400, "invalid_argument", "lone UTF-16 surrogate"},
		{"null", "LogTag", `null`, 400, "invalid_argument", "want a JSON object, not null"},
		{"array", "LogTag", `[{"resource":"` + ds.ID + `","key":"k","value":"v"}]`, 400, "invalid_argument", "want a JSON object, not an array"},
		{"negative count", "GetPrevResourceVersions", `{"resource":"` + ds.ID + `","n":-3,"options":{}}`, 400, "invalid_argument", "n must be positive"},
		{"negative depth", "Upstream", `{"resource":"` + ds.ID + `","depth":-3}`, 400, "invalid_argument", "must be 0 (unlimited) or more"},
		{"bad cursor", "Search", `{"filter":"","options":{"cursor":"zzz"}}`, 400, "invalid_query", "invalid cursor"},
		{"unknown run", "LogTag", `{"resource":"` + ds.ID + `","key":"k","value":"v"}`, 404, "not_found", `Metatrack-Run header: not found: run "../x"`},
		{"bad idempotency key", "LogTag", `{"resource":"` + ds.ID + `","key":"k","value":"v"}`, 400, "invalid_argument", "idempotency key"},
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
		var hdr []string
		switch c.name {
		case "unknown run":
			hdr = []string{api.HeaderRun, "../x"}
		case "bad idempotency key":
			hdr = []string{api.HeaderIdempotencyKey, strings.Repeat("k", 300)}
		}
		status, detail, body := post(t, srv, c.op, c.body, hdr...)
		if status != c.status || detail.Code != c.code || !strings.Contains(detail.Message, c.message) {
			t.Errorf("%s: %d %s, want %d %s containing %q", c.name, status, body, c.status, c.code, c.message)
		}
	}
	// Path tricks in artifact names are the library's refusal too, given
	// before the bytes are received; the spool file's path never shows.
	_, libNameErr := tr.LogArtifact(ctx, ds, "a/../../b", "x")
	for _, c := range []struct {
		name, query, body string
		status            int
		code, message     string
	}{
		{"dot-dot", "&name=../../etc/passwd", "x", 400, "invalid_argument", `artifact name "../../etc/passwd" must be a relative path`},
		{"absolute", "&name=/etc/passwd", "x", 400, "invalid_argument", `artifact name "/etc/passwd" must be a relative path`},
		{"dot-dot inside", "&name=a/../../b", "x", 400, "invalid_argument", libNameErr.Error()},
		{"backslashes", "&name=..%5C..%5Cx", "x", 400, "invalid_argument", "must be a relative path"},
		{"NUL", "&name=a%00b", "x", 400, "invalid_argument", "contains a NUL byte"},
		{"not UTF-8", "&name=a%FFb", "x", 400, "invalid_argument", "is not valid UTF-8"},
		{"NUL in source path", "&source_path=a%00b&kind=data_profile", "{}", 400, "invalid_argument", `artifact source path "a\x00b" contains a NUL byte`},
		{"negative size", "&name=s&size=-1", "x", 400, "invalid_argument", "size -1 is negative"},
		{"wrong hash", "&name=h.txt&sha256=" + strings.Repeat("0", 64), "x", 400, "invalid_argument", "h.txt has SHA-256 "},
		{"oversized", "&name=big", strings.Repeat("x", 2000), 413, "payload_too_large", "over 1024 bytes"},
		{"unknown kind", "&name=k&kind=weird", "x", 400, "invalid_argument", `artifact kind "weird"`},
	} {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/api/v1/artifact?"+url.Values{"resource": {ds.ID}}.Encode()+c.query, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb api.ErrorBody
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &eb)
		resp.Body.Close()
		if resp.StatusCode != c.status || eb.Error.Code != c.code || !strings.Contains(eb.Error.Message, c.message) ||
			strings.Contains(eb.Error.Message, "metatrack-upload") {
			t.Errorf("upload %s: %d %s, want %d %s containing %q", c.name, resp.StatusCode, b, c.status, c.code, c.message)
		}
	}
	var eb api.ErrorBody
	// A wrong method is a JSON error too.
	res, err := http.Get(srv.URL + "/api/v1/LogTag")
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
