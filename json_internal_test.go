package metatrack

import (
	"encoding/json"
	"testing"
)

// TestJSONOrNullString: a string's JSON text is json.Marshal's, byte for
// byte, on the plain path as on the escaped one.
func TestJSONOrNullString(t *testing.T) {
	values := []string{"", "v1", "a b", "x\"y", `back\slash`, "<tag>", "a&b", "tab\t", "é", "\u2028", "\x7f", "\xff"}
	for c := range 256 {
		values = append(values, "k"+string(rune(c)), string([]byte{byte(c)}))
	}
	for _, v := range values {
		got, err := jsonOrNull(v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("jsonOrNull(%q) = %s, json.Marshal gives %s", v, got, want)
		}
	}
}
