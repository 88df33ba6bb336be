// Package storagetest holds the checks every storage engine's tests run on
// what the engine supplies to the seam.
package storagetest

import (
	"reflect"
	"testing"

	"github.com/metatrack/metatrack/storage"
)

// CheckStatements fails t for every field of s, in every area, that is
// empty: a statement the engine forgot to write. It reports the area and
// the field.
func CheckStatements(t testing.TB, engine string, s *storage.Statements) {
	t.Helper()
	n := check(t, engine, reflect.ValueOf(s).Elem(), "Statements")
	if n == 0 {
		t.Errorf("%s: storage.Statements has no statements", engine)
	}
}

// check walks v and returns how many statements it holds.
func check(t testing.TB, engine string, v reflect.Value, path string) int {
	t.Helper()
	n := 0
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		name := path + "." + f.Name
		switch fv.Kind() {
		case reflect.Struct:
			n += check(t, engine, fv, name)
		case reflect.String:
			n++
			if fv.String() == "" {
				t.Errorf("%s: %s is empty", engine, name)
			}
		case reflect.Func, reflect.Map, reflect.Slice:
			n++
			if fv.IsNil() || fv.Kind() != reflect.Func && fv.Len() == 0 {
				t.Errorf("%s: %s is not set", engine, name)
			}
		default:
			t.Errorf("%s: %s is a %s, not a statement", engine, name, fv.Kind())
		}
	}
	return n
}
