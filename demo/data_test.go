package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
)

func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(300, 42, 2), Generate(300, 42, 2)
	var ba, bb bytes.Buffer
	if err := WriteCSV(&ba, a, true); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&bb, b, true); err != nil {
		t.Fatal(err)
	}
	if ba.String() != bb.String() {
		t.Error("same seed and version, different data")
	}
	var bc bytes.Buffer
	WriteCSV(&bc, Generate(300, 42, 3), true)
	if ba.String() == bc.String() {
		t.Error("another version, same data")
	}
	var survived, missingAge float64
	for _, p := range Generate(5000, 1, 1) {
		survived += float64(p.Survived)
		if math.IsNaN(p.Age) {
			missingAge++
		}
		if p.Pclass < 1 || p.Pclass > 3 || p.Fare <= 0 {
			t.Fatalf("implausible passenger %+v", p)
		}
	}
	if r := survived / 5000; r < 0.3 || r > 0.6 {
		t.Errorf("survival rate %v", r)
	}
	if r := missingAge / 5000; r < 0.1 || r > 0.3 {
		t.Errorf("missing age rate %v", r)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	rows := Generate(50, 3, 1)
	for _, withLabel := range []bool{true, false} {
		var buf bytes.Buffer
		if err := WriteCSV(&buf, rows, withLabel); err != nil {
			t.Fatal(err)
		}
		got, err := ReadCSV(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rows) {
			t.Fatalf("%d rows back, want %d", len(got), len(rows))
		}
		for i, p := range got {
			want := rows[i]
			if !withLabel {
				want.Survived = -1
			}
			if math.IsNaN(want.Age) != math.IsNaN(p.Age) {
				t.Fatalf("row %d: age %v, want %v", i, p.Age, want.Age)
			}
			p.Age, want.Age = 0, 0
			if p != want {
				t.Fatalf("row %d: %+v, want %+v", i, p, want)
			}
		}
	}
	if _, err := ReadCSV(strings.NewReader("pclass,sex\n1,male\n")); err == nil {
		t.Error("missing columns: no error")
	}
	if _, err := ReadCSV(strings.NewReader("pclass,sex,age,fare,sibsp,parch,embarked\nx,male,1,1,0,0,S\n")); err == nil {
		t.Error("bad pclass: no error")
	}
	y, err := ReadLabels(strings.NewReader("survived\n1\n0\n"))
	if err != nil || len(y) != 2 || y[0] != 1 || y[1] != 0 {
		t.Errorf("ReadLabels = %v, %v", y, err)
	}
}

func TestVCStore(t *testing.T) {
	dir := t.TempDir()
	s := VCStore{Dir: filepath.Join(dir, "vc")}
	src := filepath.Join(dir, "a.txt")
	os.WriteFile(src, []byte("hello\n"), 0o644)
	info, err := s.Put(src)
	if err != nil {
		t.Fatal(err)
	}
	const sum = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	if info["hexsha"] != sum || info["uri"] != filepath.Join(s.Dir, sum) {
		t.Errorf("Put = %v", info)
	}
	again, err := s.Put(src)
	if err != nil || again["uri"] != info["uri"] {
		t.Errorf("second Put = %v, %v", again, err)
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 1 {
		t.Errorf("%d files in the store, want 1", len(entries))
	}
	b, err := s.Open(info)
	if err != nil || string(b) != "hello\n" {
		t.Errorf("Open = %q, %v", b, err)
	}
	// Found by hexsha in the store when the uri is stale.
	if b, err := s.Open(map[string]any{"hexsha": sum, "uri": "/nonexistent/x"}); err != nil || string(b) != "hello\n" {
		t.Errorf("Open with a stale uri = %q, %v", b, err)
	}
	if _, err := (VCStore{}).Open(map[string]any{"hexsha": sum, "uri": filepath.Join(dir, "gone")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: %v", err)
	}
	os.WriteFile(info["uri"].(string), []byte("tampered"), 0o644)
	if _, err := s.Open(info); err == nil {
		t.Error("Open of a modified file: no error")
	}
}

func TestLoadModel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, err := Train(Generate(300, 1, 1), TrainParams{LearningRate: 0.5, Epochs: 50})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	p := filepath.Join(dir, "model.json")
	os.WriteFile(p, b, 0o644)
	info, err := VCStore{Dir: dir}.Put(p)
	if err != nil {
		t.Fatal(err)
	}
	var params, tcfg map[string]any
	remarshal(m.Params, &params)
	remarshal(m.Transformer, &tcfg)
	spec := func() metatrack.ModelSpec {
		return metatrack.ModelSpec{Trainer: TrainerName, TrainingParams: params, FeatureTransformer: TransformerName,
			FeatureTransformerConfig: tcfg, VCInfo: info,
			OpenArtifact: func(ctx context.Context, name string) (io.ReadCloser, error) {
				if name != "model.json" {
					return nil, metatrack.ErrNotFound
				}
				return io.NopCloser(bytes.NewReader(b)), nil
			}}
	}

	t.Run("OK", func(t *testing.T) {
		obj, err := LoadModel(ctx, spec())
		if err != nil {
			t.Fatal(err)
		}
		got := obj.(*Model)
		rows := Generate(20, 2, 1)
		want, have := m.PredictProba(rows), got.PredictProba(rows)
		for i := range want {
			if want[i] != have[i] {
				t.Fatalf("row %d: %v, want %v", i, have[i], want[i])
			}
		}
	})
	t.Run("FromArtifact", func(t *testing.T) {
		s := spec()
		s.VCInfo = map[string]any{"hexsha": info["hexsha"], "uri": filepath.Join(dir, "gone")}
		if _, err := LoadModel(ctx, s); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		tampered := filepath.Join(dir, "tampered.json")
		os.WriteFile(tampered, append(b, ' '), 0o644)
		s := spec()
		s.VCInfo = map[string]any{"hexsha": info["hexsha"], "uri": tampered}
		if _, err := LoadModel(ctx, s); err == nil {
			t.Error("no error")
		}
	})
	t.Run("ErrParamsDiffer", func(t *testing.T) {
		s := spec()
		s.TrainingParams = map[string]any{"learning_rate": 0.1, "l2": 0.0, "epochs": int64(50)}
		if _, err := LoadModel(ctx, s); err == nil {
			t.Error("no error")
		}
	})
	t.Run("ErrTransformer", func(t *testing.T) {
		s := spec()
		s.FeatureTransformer = "pca"
		if _, err := LoadModel(ctx, s); err == nil {
			t.Error("no error")
		}
	})
	t.Run("ErrNoFile", func(t *testing.T) {
		s := spec()
		s.VCInfo, s.OpenArtifact = nil, nil
		if _, err := LoadModel(ctx, s); err == nil {
			t.Error("no error")
		}
	})
}
