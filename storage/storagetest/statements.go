// Package storagetest holds the checks every storage engine's tests run on
// what the engine supplies to the seam.
package storagetest

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/storage"
)

// CheckStatements fails t for every field of s, in every area, that is
// empty: a statement the engine forgot to write. It reports the area and
// the field. A field tagged `storage:"optional"` (a statement an engine
// may offer, or a setting) may be left unset.
func CheckStatements(t testing.TB, engine string, s *storage.Statements) {
	t.Helper()
	n := check(t, engine, reflect.ValueOf(s).Elem(), "Statements")
	if n == 0 {
		t.Errorf("%s: storage.Statements has no statements", engine)
	}
	checkLineage(t, engine, &s.LineageStatements)
}

// checkLineage builds the lineage statements for every LineageFollow and
// fails t for each text that is empty or does not name exactly the
// numbered parameters its arguments bind: first (the set, or the starts
// and the depth), then the relation lists the variant binds.
func checkLineage(t testing.TB, engine string, s *storage.LineageStatements) {
	t.Helper()
	if s.Level == nil || s.PathLevel == nil || s.Walk == nil || s.EdgesAmong == nil {
		return // reported by check
	}
	for _, down := range []bool{false, true} {
		for _, up := range []bool{false, true} {
			for _, incl := range []bool{false, true} {
				for _, excl := range []bool{false, true} {
					f := storage.LineageFollow{Downstream: down, Upstream: up, Relations: incl, ExcludeRelations: excl}
					lists := 0
					if incl {
						lists++
					}
					if excl {
						lists++
					}
					type built struct {
						name, text string
						args       int
					}
					texts := []built{{"EdgesAmong", s.EdgesAmong(f), 1 + lists}}
					if down || up {
						texts = append(texts,
							built{"Level", s.Level(f), 1 + lists},
							built{"PathLevel", s.PathLevel(f), 1 + lists},
							built{"Walk(one start)", s.Walk(f, true), 2 + lists},
							built{"Walk", s.Walk(f, false), 2 + lists})
						if s.LevelRuns != nil {
							texts = append(texts, built{"LevelRuns", s.LevelRuns(f), 1 + lists})
						}
						if s.PathLevelRuns != nil {
							texts = append(texts, built{"PathLevelRuns", s.PathLevelRuns(f), 1 + lists})
						}
						if s.Depths != nil {
							texts = append(texts, built{"Depths(one start)", s.Depths(f, true), 2 + lists}, built{"Depths", s.Depths(f, false), 2 + lists})
						}
						if s.WalkEdges != nil {
							texts = append(texts, built{"WalkEdges(one start)", s.WalkEdges(f, true), 2 + lists}, built{"WalkEdges", s.WalkEdges(f, false), 2 + lists})
						}
					}
					if s.NodesEdges != nil {
						texts = append(texts, built{"NodesEdges", s.NodesEdges(f), 1 + lists})
					}
					for _, c := range texts {
						if msg := numbered(c.text, c.args); msg != "" {
							t.Errorf("%s: LineageStatements.%s(%+v): %s", engine, c.name, f, msg)
						}
					}
				}
			}
		}
	}
	for _, c := range []struct {
		name, text string
		args       int
	}{{"NodesRuns", s.NodesRuns, 1}, {"NodesTypedRuns", s.NodesTypedRuns, 3}} {
		if c.text == "" {
			continue // optional
		}
		if msg := numbered(c.text, c.args); msg != "" {
			t.Errorf("%s: LineageStatements.%s: %s", engine, c.name, msg)
		}
	}
}

// numbered returns what is wrong with text, whose parameters must be ?1 to
// ?n, each at least once, and no other; "" when nothing is.
func numbered(text string, n int) string {
	if strings.TrimSpace(text) == "" {
		return "empty"
	}
	for i := 1; i <= n; i++ {
		if !hasParam(text, i) {
			return "does not use ?" + strconv.Itoa(i)
		}
	}
	if hasParam(text, n+1) {
		return "uses ?" + strconv.Itoa(n+1) + ", which is not bound"
	}
	return ""
}

// hasParam reports whether text holds the parameter ?i, not followed by
// another digit.
func hasParam(text string, i int) bool {
	p := "?" + strconv.Itoa(i)
	for rest := text; ; {
		j := strings.Index(rest, p)
		if j < 0 {
			return false
		}
		rest = rest[j+len(p):]
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			return true
		}
	}
}

// check walks v and returns how many statements it holds.
func check(t testing.TB, engine string, v reflect.Value, path string) int {
	t.Helper()
	n := 0
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		name := path + "." + f.Name
		if f.Tag.Get("storage") == "optional" {
			continue
		}
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
