package lineage_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/lineage"
)

// TestEnumsAsText: directions and strategies travel in JSON by name, and
// an unknown name is ErrInvalid naming the valid ones.
func TestEnumsAsText(t *testing.T) {
	b, err := json.Marshal(lineage.Options{Direction: lineage.Upstream, Strategy: lineage.LevelWalk})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"direction":"upstream"`) || !strings.Contains(string(b), `"strategy":"levelwalk"`) {
		t.Fatalf("options as JSON: %s", b)
	}
	var back lineage.Options
	if err := json.Unmarshal(b, &back); err != nil || back.Direction != lineage.Upstream || back.Strategy != lineage.LevelWalk {
		t.Fatalf("read back %+v, %v", back, err)
	}
	var zero lineage.Options
	if err := json.Unmarshal([]byte(`{"direction":"","strategy":""}`), &zero); err != nil || zero.Direction != 0 || zero.Strategy != lineage.Auto {
		t.Fatalf("empty names read as %+v, %v", zero, err)
	}
	for _, in := range []string{`{"direction":"sideways"}`, `{"strategy":"fast"}`} {
		err := json.Unmarshal([]byte(in), &back)
		if !errors.Is(err, lineage.ErrInvalid) || !strings.Contains(err.Error(), "valid are") {
			t.Errorf("%s: %v, want ErrInvalid naming the valid values", in, err)
		}
	}
	if _, err := json.Marshal(lineage.PathOptions{Direction: lineage.Direction(9)}); !errors.Is(err, lineage.ErrInvalid) {
		t.Errorf("marshal of Direction(9): %v, want ErrInvalid", err)
	}
}
