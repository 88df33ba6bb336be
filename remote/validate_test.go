package remote_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/metatrack/metatrack/server"
)

var (
	seenMu sync.Mutex
	// seen holds the operations whose requests were checked.
	seen = map[string]bool{}

	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// validating returns a transport that checks every request and response
// against the committed OpenAPI description and fails tb on a mismatch.
func validating(tb testing.TB) http.RoundTripper {
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI)
		if err != nil {
			specErr = err
			return
		}
		specRouter, specErr = legacy.NewRouter(doc)
	})
	if specErr != nil {
		tb.Fatalf("loading openapi.json: %v", specErr)
	}
	return &validator{tb: tb, next: http.DefaultTransport}
}

type validator struct {
	tb   testing.TB
	next http.RoundTripper
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	route, params, err := specRouter.FindRoute(req)
	if err != nil {
		v.tb.Errorf("%s %s: not in openapi.json: %v", req.Method, req.URL.Path, err)
		return v.next.RoundTrip(req)
	}
	op := route.Operation.OperationID
	seenMu.Lock()
	seen[op] = true
	seenMu.Unlock()
	stream := op == "PutArtifact" || op == "GetArtifact" || op == "Export" || op == "Import"
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: stream}}
	if stream {
		// Check the parameters, not the streamed bytes.
		check := req.Clone(context.Background())
		check.Body, check.ContentLength = http.NoBody, 0
		in.Request = check
	} else if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		check := req.Clone(context.Background())
		check.Body = io.NopCloser(bytes.NewReader(b))
		in.Request = check
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		v.tb.Errorf("request %s does not match openapi.json: %v", route.Operation.OperationID, err)
	}
	res, err := v.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	if stream && res.StatusCode == http.StatusOK {
		return res, nil
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(b))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(b)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.tb.Errorf("response of %s (%d) does not match openapi.json: %v\n%s", route.Operation.OperationID, res.StatusCode, err, trunc(b))
	}
	return res, nil
}

func trunc(b []byte) []byte {
	if len(b) > 500 {
		return b[:500]
	}
	return b
}
