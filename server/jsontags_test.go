package server_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/server"
)

// TestJSONFieldNames walks every type that travels in a request or a
// response (the library's records included) and fails on a field without
// an explicit snake_case json tag: without one encoding/json uses the Go
// field name, and the wire format would change with a rename in Go.
func TestJSONFieldNames(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		names := map[string]string{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, ok := f.Tag.Lookup("json")
			if f.Anonymous && !ok {
				walk(f.Type, path+"."+f.Name) // its fields are flattened in
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			switch {
			case !ok || name == "":
				t.Errorf("%s (%v).%s has no json name", path, typ, f.Name)
			case name == "-":
				continue
			case !snake.MatchString(name):
				t.Errorf("%s (%v).%s: json name %q is not snake_case", path, typ, f.Name, name)
			case names[name] != "":
				t.Errorf("%s (%v): fields %s and %s share the json name %q", path, typ, names[name], f.Name, name)
			}
			names[name] = f.Name
			walk(f.Type, path+"."+f.Name)
		}
	}
	for _, e := range server.Endpoints() {
		if e.Request != nil {
			walk(e.Request, e.Op+" request")
		}
		if e.Response != nil {
			walk(e.Response, e.Op+" response")
		}
	}
	walk(reflect.TypeFor[api.ErrorBody](), "error body")
	if len(seen) < 40 {
		t.Fatalf("walked %d types; the endpoints' types were not reached", len(seen))
	}
}
