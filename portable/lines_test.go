package portable

import (
	"strings"
	"testing"
)

// TestDecode: decode, which decodes in place instead of through a
// json.Decoder, is as strict as the decoder with DisallowUnknownFields was.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, line, err string
	}{
		{"OK", `{"kind":"metadata","resource":"r","key":"k","value":"v","updated_at":1}`, ""},
		{"OKSpaces", " {\t\"kind\" : \"tag\" , \"key\":\"k\"}\r\n ", ""},
		{"OKFieldNameCase", `{"KIND":"tag","Key":"k"}`, ""},
		{"OKEscapedKey", `{"k\u0069nd":"tag","key":"a\"}\\,{"}`, ""},
		{"OKNestedKeysFree", `{"kind":"metadata","value":{"anything":[1,{"x":"}"}]}}`, ""},
		{"ErrUnknownField", `{"kind":"metadata","color":1,"key":"k"}`, `unknown field "color"`},
		{"ErrUnknownFieldAfterObject", `{"kind":"tag","value":{"a":{"b":[]}},"extra":null}`, `unknown field "extra"`},
		{"ErrDataAfter", `{"kind":"tag"} {"kind":"tag"}`, "data after the JSON object"},
		{"ErrTruncated", `{"kind":"tag","key":"k`, "malformed record"},
		{"ErrNotObject", `["kind"]`, "malformed record"},
		{"ErrType", `{"kind":1}`, "malformed record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r metadataRec // value is raw JSON: any nested keys
			check(t, decode([]byte(tc.line), &r), tc.err)
		})
	}
}

func check(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("error %v, want none", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("error %v, want one saying %q", err, want)
	}
}
