package rules

import (
	"errors"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"OK", `{"a":"b"}`, true},
		{"OKRealReplacementChar", "\"\uFFFD\"", true},
		{"OKSurrogatePair", `"\ud83d\ude00"`, true},
		{"OKEscapedBackslashU", `"\\ud800"`, true},
		{"ErrReplacementEscape", `"\ufffd"`, false},
		{"ErrLoneHigh", `"\ud800"`, false},
		{"ErrLoneHighThenText", `"\ud800x"`, false},
		{"ErrHighThenHigh", `"\ud800\ud800"`, false},
		{"ErrLoneLow", `"\udc00"`, false},
		{"ErrInvalidUTF8", "\"\xff\"", false},
		{"ErrNotJSON", `{"a":`, false},
		{"ErrEmpty", ``, false},
		{"ErrDuplicateName", `{"a":1,"a":2}`, false},
		{"ErrDuplicateNameNested", `{"x":[{"c":1,"c":2}]}`, false},
		{"ErrDuplicateNameEscaped", `{"a\u0062":1,"ab":2}`, false},
		{"OKSameNameInTwoObjects", `[{"a":1},{"a":2}]`, true},
		{"OKBraceInString", `"{\"a\":1,\"a\":2}"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := JSON("value", []byte(tc.in), 100)
			if (err == nil) != tc.ok {
				t.Fatalf("JSON(%q) = %v, want ok %v", tc.in, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("%v does not match ErrInvalidArgument", err)
			}
		})
	}
	err := JSON("metadata value", []byte(`{"x":[{"c":1,"c":2}]}`), 100)
	if want := `metadata value names a member twice: duplicate object member name "c" within "/x/0"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	if err := JSON("value", []byte(`"`+strings.Repeat("a", 99)+`"`), 100); err == nil {
		t.Fatal("101 bytes accepted with a limit of 100")
	}
}

func TestChainNumbers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions []int64
		want     string
	}{
		{"OK", []int64{1, 2, 3}, ""},
		{"ErrJump", []int64{1, 5}, "missing version 2, 3, 4"},
		{"ErrStartsAt3", []int64{3}, "missing version 1, 2"},
		{"ErrTwice", []int64{1, 2, 2}, "version 2 twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ChainNumbers(tc.versions)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("ChainNumbers(%v) = %v, want %q", tc.versions, err, tc.want)
			}
		})
	}
}

func TestArtifact(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name              string
		stored            bool
		size              int64
		sha, uri, kind, c string
		ok                bool
	}{
		{"OKStored", true, 5, sum, "", KindArtifact, "", true},
		{"OKExternalNoHash", false, 0, "", "s3://b/k", KindArtifact, "", true},
		{"OKChecks", true, 5, sum, "", KindChecks, "data", true},
		{"ErrNegativeSize", false, -5, "", "s3://b/k", KindArtifact, "", false},
		{"ErrBadHash", false, 1, "NOT-A-HASH", "s3://b/k", KindArtifact, "", false},
		{"ErrUpperHash", true, 1, strings.ToUpper(sum), "", KindArtifact, "", false},
		{"ErrStoredNoHash", true, 1, "", "", KindArtifact, "", false},
		{"ErrEvilKind", true, 1, sum, "", "evil", "", false},
		{"ErrChecksNoType", true, 1, sum, "", KindChecks, "", false},
		{"ErrCheckTypeOnArtifact", true, 1, sum, "", KindArtifact, "data", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ArtifactKind(tc.kind, tc.c)
			if err == nil {
				err = Artifact(tc.stored, tc.size, tc.sha, "", tc.uri, "")
			}
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok %v", err, tc.ok)
			}
		})
	}
}
