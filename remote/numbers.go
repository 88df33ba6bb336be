package remote

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/metatrack/metatrack"
)

// decodeJSON decodes b into dst as the library returns values: the numbers
// in untyped places (attributes, metadata, history values) are int64 when
// whole and float64 otherwise, not always float64 as encoding/json makes
// them.
func decodeJSON(b []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(dst); err != nil {
		return err
	}
	fixNumbers(reflect.ValueOf(dst))
	return nil
}

var numberType = reflect.TypeFor[json.Number]()

// fixNumbers normalizes every json.Number reachable from v.
func fixNumbers(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fixNumbers(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() || !v.CanSet() {
			return
		}
		v.Set(reflect.ValueOf(metatrack.NormalizeNumbers(v.Elem().Interface())))
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fixNumbers(f)
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			fixNumbers(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem() == numberType {
			return
		}
		iter := v.MapRange()
		for iter.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(iter.Value())
			fixNumbers(e)
			v.SetMapIndex(iter.Key(), e)
		}
	}
}
