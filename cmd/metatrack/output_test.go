package main

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestWriteCSV: nested objects become dotted columns in the order of the
// JSON document, keys some rows lack get empty cells, values with commas,
// quotes and newlines survive, arrays stay JSON, an empty list still has
// its header.
func TestWriteCSV(t *testing.T) {
	type inner struct {
		Ref string `json:"ref"`
		N   *int   `json:"n"`
	}
	type row struct {
		ID    string         `json:"id"`
		Attrs map[string]any `json:"attrs"`
		Of    inner          `json:"of"`
		List  []string       `json:"list"`
		At    time.Time      `json:"at"`
	}
	two := 2
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	rows := []row{
		{ID: "a", Attrs: map[string]any{"lr": 0.1}, Of: inner{"x/y", &two}, List: []string{"p", "q"}, At: at},
		{ID: "b,\"c\"\nd", Attrs: map[string]any{"opt": map[string]any{"name": "sgd"}}, Of: inner{"z", nil}, At: at},
	}
	var b bytes.Buffer
	a := &app{stdout: &b}
	if err := a.writeCSV(rows); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	want := [][]string{
		{"id", "attrs.lr", "of.ref", "of.n", "list", "at", "attrs.opt.name"},
		{"a", "0.1", "x/y", "2", `["p","q"]`, "2024-05-01T12:00:00Z", ""},
		{"b,\"c\"\nd", "", "z", "", "", "2024-05-01T12:00:00Z", "sgd"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("csv:\n%q\nwant\n%q", got, want)
	}

	b.Reset()
	if err := a.writeCSV([]row{}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "id,attrs,of.ref,of.n,list,at\n" {
		t.Errorf("empty list: %q", got)
	}
	b.Reset()
	if err := a.writeCSV([]record{}, "field", "value"); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "field,value\n" {
		t.Errorf("empty records: %q", got)
	}
	// Records keep the order their fields were added in.
	b.Reset()
	if err := a.writeCSV([]record{{{"z", 1}, {"a", "x"}}, {{"a", "y"}, {"m", nil}}}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "z,a,m\n1,x,\n,y,\n" {
		t.Errorf("records: %q", got)
	}
}
