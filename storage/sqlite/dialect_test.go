package sqlite

import "testing"

func TestLikeToGlob(t *testing.T) {
	for _, tt := range []struct{ like, glob string }{
		{"abc", "abc"},
		{"a%", "a*"},
		{"_b_", "?b?"},
		{`50\%`, "50%"},
		{`a\_b`, "a_b"},
		{`a\\b`, `a\b`},
		{`\a`, "a"},
		{"*?[]", "[*][?][[]]"},
		{`\*`, "[*]"},
		{"é_%", "é?*"},
	} {
		if got := LikeToGlob(tt.like); got != tt.glob {
			t.Errorf("LikeToGlob(%q) = %q, want %q", tt.like, got, tt.glob)
		}
	}
}
