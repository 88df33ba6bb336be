package server_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/lineage"
	"github.com/metatrack/metatrack/server"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the endpoints' Go types")

// TestOpenAPIFile checks that the committed openapi.json is the one the
// endpoints' Go types give. After changing an endpoint, regenerate it:
//
//	go test ./server -run TestOpenAPIFile -update
func TestOpenAPIFile(t *testing.T) {
	doc := generate(t)
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("generated description is invalid: %v", err)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile("openapi.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(b, server.OpenAPI) {
		t.Fatal("openapi.json is not what the endpoints give; run go test ./server -run TestOpenAPIFile -update")
	}
}

var nonFinite = map[string]bool{"value": true, "last": true, "min": true, "max": true}

func generate(t *testing.T) *openapi3.T {
	customize := func(name string, typ reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
		switch {
		case typ.Kind() == reflect.Slice && typ.Elem().Kind() != reflect.Uint8, typ.Kind() == reflect.Map,
			typ.Kind() == reflect.Interface, typ == reflect.TypeFor[json.RawMessage]():
			s.Nullable = true // nil slices and maps, and JSON values, may be null
		case typ == reflect.TypeFor[lineage.Direction]():
			*s = *openapi3.NewStringSchema().WithEnum(anys(lineage.Directions)...)
		case typ == reflect.TypeFor[lineage.Strategy]():
			*s = *openapi3.NewStringSchema().WithEnum(anys(lineage.Strategies)...)
		case typ.Kind() == reflect.Float64 && nonFinite[name]:
			// Metric values: numbers, or NaN and infinities as strings.
			*s = openapi3.Schema{OneOf: openapi3.SchemaRefs{
				openapi3.NewFloat64Schema().NewRef(),
				openapi3.NewStringSchema().WithEnum("NaN", "+Inf", "-Inf").NewRef(),
			}}
		}
		return nil
	}
	schema := func(typ reflect.Type) *openapi3.SchemaRef {
		ref, err := openapi3gen.NewSchemaRefForValue(reflect.New(typ).Elem().Interface(), nil,
			openapi3gen.UseAllExportedFields(), openapi3gen.SchemaCustomizer(customize))
		if err != nil {
			t.Fatalf("schema of %v: %v", typ, err)
		}
		return ref
	}
	errBody := schema(reflect.TypeFor[api.ErrorBody]())
	errBody.Value.Properties["error"].Value.Properties["code"].Value.Enum = anys(api.Codes())
	errResp := openapi3.NewResponse().WithDescription("The operation failed; the code is stable, the message is the library's.").
		WithJSONSchemaRef(errBody)
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "metatrack", Version: "1",
			Description: "The metatrack library over HTTP. Every operation takes a bearer token unless the server runs without authentication; writes may carry an Idempotency-Key header."},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{SecuritySchemes: openapi3.SecuritySchemes{
			"token": &openapi3.SecuritySchemeRef{Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer")},
		}, Responses: openapi3.ResponseBodies{"Error": &openapi3.ResponseRef{Value: errResp}}},
		Security: openapi3.SecurityRequirements{{"token": []string{}}},
	}
	idem := &openapi3.ParameterRef{Value: openapi3.NewHeaderParameter(api.HeaderIdempotencyKey).WithSchema(openapi3.NewStringSchema()).
		WithDescription("Names a write: a repeat with the same key is not applied again and gets the first answer.")}
	runHeader := &openapi3.ParameterRef{Value: openapi3.NewHeaderParameter(api.HeaderRun).WithSchema(openapi3.NewStringSchema()).
		WithDescription("The id of the run the client started (StartRun): the request's writes record it.")}
	for _, e := range server.Endpoints() {
		op := openapi3.NewOperation()
		op.Parameters = append(op.Parameters, runHeader)
		op.OperationID, op.Summary = e.Op, e.Doc
		op.Responses = openapi3.NewResponses()
		op.Responses.Set("default", &openapi3.ResponseRef{Ref: "#/components/responses/Error", Value: errResp})
		if e.Role >= server.RoleWrite {
			op.Parameters = append(op.Parameters, idem)
		}
		op.Extensions = map[string]any{"x-role": e.Role.String()}
		switch {
		case e.Method == http.MethodPost:
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
				WithJSONSchemaRef(schema(e.Request))}
			op.Responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("OK").
				WithJSONSchemaRef(schema(e.Response))})
		case e.Op == "PutArtifact":
			for _, p := range []string{"resource", "name", "kind", "check_type", "media_type", "uri", "sha256", "size", "source_path", "file"} {
				q := openapi3.NewQueryParameter(p).WithSchema(openapi3.NewStringSchema())
				switch p {
				case "resource":
					q.Required = true
				case "size":
					q.Schema = openapi3.NewInt64Schema().NewRef()
				case "file":
					q.Schema = openapi3.NewStringSchema().WithEnum("true", "false").NewRef()
				case "kind":
					q.Schema = openapi3.NewStringSchema().WithEnum(metatrack.KindArtifact, metatrack.KindDataProfile, metatrack.KindChecks, metatrack.KindDataComparison).NewRef()
				}
				op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: q})
			}
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithContent(
				openapi3.NewContentWithSchema(openapi3.NewStringSchema().WithFormat("binary"), []string{"application/octet-stream"}))}
			op.Responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("The artifact's record.").
				WithJSONSchemaRef(schema(e.Response))})
		case e.Op == "GetArtifact":
			for _, p := range []string{"resource", "name", "kind", "check_type"} {
				q := openapi3.NewQueryParameter(p).WithSchema(openapi3.NewStringSchema())
				q.Required = p == "resource"
				op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: q})
			}
			ok := openapi3.NewResponse().WithDescription("The artifact's bytes; its JSON record is in the " + api.HeaderArtifact + " header.").
				WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema().WithFormat("binary"), []string{"application/octet-stream"}))
			ok.Headers = openapi3.Headers{api.HeaderArtifact: &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Schema: openapi3.NewStringSchema().NewRef(), Description: "The artifact's record as JSON."}}}}
			op.Responses.Set("200", &openapi3.ResponseRef{Value: ok})
		case e.Op == "Export":
			for _, p := range []string{"filter", "lineage"} {
				op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewQueryParameter(p).WithSchema(openapi3.NewStringSchema())})
			}
			op.Responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("The export, one JSON record a line.").
				WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{"application/x-ndjson"}))})
		case e.Op == "Import":
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewQueryParameter("dry_run").
				WithSchema(openapi3.NewStringSchema().WithEnum("true", "false"))})
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithContent(
				openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{"application/x-ndjson"}))}
			op.Responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("What was imported.").
				WithJSONSchemaRef(schema(e.Response))})
		default:
			t.Fatalf("endpoint %s has no description", e.Op)
		}
		doc.AddOperation(e.Path, e.Method, op)
	}
	spec := openapi3.NewOperation()
	spec.OperationID, spec.Summary, spec.Security = "OpenAPI", "This description.", &openapi3.SecurityRequirements{}
	spec.Responses = openapi3.NewResponses()
	spec.Responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("OpenAPI 3 JSON").
		WithJSONSchema(openapi3.NewObjectSchema())})
	doc.AddOperation("/api/openapi.json", http.MethodGet, spec)
	return doc
}

// anys gives the enum of an OpenAPI schema: the values as strings.
func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = fmt.Sprint(v)
	}
	return out
}
