package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newHistoryCmd(a *app) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "history <ref>",
		Short: "Print the change log of a resource, oldest first",
		Long: `history prints every recorded change of one resource, oldest first: its
creation, status and field changes, tags and metadata set or removed,
artifacts logged, version-control records, lineage edges, deployments and
undeployments, each with its time, the run that made it, and the old and new
values (JSON; strings as they are). --kind keeps one kind of change.

The table cuts long values; -o json has them whole.`,
		Example: `  metatrack history model_version/titanic_model@2 --db titanic.db
  metatrack history model/titanic_model --kind deployed
  metatrack history dataset_version/titanic_train@latest -o json | jq '.changes[] | select(.kind == "tag")'`,
		Args:              exactArgs(1, "a resource id or reference"),
		ValidArgsFunction: a.completeRefs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runHistory(cmd.Context(), args[0], kind)
		},
	}
	enumFlag(cmd, &kind, "kind", "", "only changes of this kind", changeKinds)
	return listing(cmd)
}

// changeKinds are the kinds of change the library records: every Change*
// constant of the package (TestChangeKindsComplete checks it), so that
// --kind refuses only what can never match.
var changeKinds = []string{
	metatrack.ChangeCreated, metatrack.ChangeStatus, metatrack.ChangeField, metatrack.ChangeAttr,
	metatrack.ChangeTag, metatrack.ChangeMetadata, metatrack.ChangeArtifact, metatrack.ChangeVCInfo,
	metatrack.ChangeEdge, metatrack.ChangeDeployed, metatrack.ChangeUndeployed,
	metatrack.ChangeRenumbered, metatrack.ChangeUnified,
	metatrack.ChangeAlias, metatrack.ChangeDeleted, metatrack.ChangeRestored, metatrack.ChangePurged,
}

// historyJSON is the -o json document of history.
type historyJSON struct {
	Resource resourceRefJSON `json:"resource"`
	Changes  []changeJSON    `json:"changes"`
}

// changeJSON is one change of a resource.
type changeJSON struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	RunID   *string   `json:"run_id"`
	RunName *string   `json:"run_name"`
	// Actor is the name of the token that made the change through a
	// server; absent otherwise.
	Actor string `json:"actor,omitempty"`
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

func (a *app) runHistory(ctx context.Context, ref, kind string) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	r, err := a.resolve(ctx, t, ref)
	if err != nil {
		return err
	}
	changes, err := t.History(ctx, r)
	if err != nil {
		return err
	}
	if kind != "" {
		var kept []metatrack.Change
		for _, c := range changes {
			if c.Kind == kind {
				kept = append(kept, c)
			}
		}
		changes = kept
	}
	names, err := runNames(ctx, t)
	if err != nil {
		return err
	}
	out := historyJSON{Resource: *refJSON(r), Changes: toChangesJSON(changes, names)}
	if a.json() {
		return a.writeJSON(out)
	}
	if a.csv() {
		return a.writeCSV(changesCSV(out.Changes))
	}
	refs := changeRefs(ctx, t, out.Changes)
	fmt.Fprintf(a.stdout, "%s: %s\n", r.Ref(), plural(len(out.Changes), "change"))
	if len(out.Changes) == 0 {
		return nil
	}
	fmt.Fprintln(a.stdout)
	tw := newTable(a.stdout)
	writeChangeRows(tw, "", out.Changes, refs)
	return tw.Flush()
}

// runNames maps the id of every run to its name.
func runNames(ctx context.Context, t metatrack.Store) (map[string]string, error) {
	runs, err := t.Runs(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(runs))
	for _, r := range runs {
		names[r.ID] = r.Name
	}
	return names, nil
}

func toChangesJSON(changes []metatrack.Change, runNames map[string]string) []changeJSON {
	out := make([]changeJSON, len(changes))
	for i, c := range changes {
		out[i] = changeJSON{Seq: c.Seq, At: c.At.UTC(), RunID: optString(c.RunID), Actor: c.Actor, Kind: c.Kind, Key: c.Key, Old: c.Old, New: c.New}
		if c.Kind == metatrack.ChangeField && (c.Key == "started_at" || c.Key == "ended_at") {
			// The log keeps these times as UTC milliseconds; they are
			// shown as times (RFC 3339 in JSON), as everywhere else.
			out[i].Old, out[i].New = millisToTime(c.Old), millisToTime(c.New)
		}
		if m, ok := c.New.(map[string]any); ok && c.Kind == metatrack.ChangePurged {
			if at, ok := m["deleted_at"]; ok {
				rec := make(map[string]any, len(m))
				for k, v := range m {
					rec[k] = v
				}
				rec["deleted_at"] = millisToTime(at)
				out[i].New = rec
			}
		}
		if name, ok := runNames[c.RunID]; ok {
			out[i].RunName = &name
		}
	}
	return out
}

// millisToTime returns v, a number of UTC milliseconds as the change log
// decodes it, as a time.Time; any other value as it is.
func millisToTime(v any) any {
	switch n := v.(type) {
	case int64:
		return time.UnixMilli(n).UTC()
	case int:
		return time.UnixMilli(int64(n)).UTC()
	case float64:
		return time.UnixMilli(int64(n)).UTC()
	case json.Number:
		if ms, err := n.Int64(); err == nil {
			return time.UnixMilli(ms).UTC()
		}
	}
	return v
}

// changeRefs resolves the resource ids that changes name (edge sources,
// deployed versions, unified resources) to references, for the table.
func changeRefs(ctx context.Context, t metatrack.Store, changes []changeJSON) map[string]string {
	refs := map[string]string{}
	for _, c := range changes {
		for _, v := range []any{c.Old, c.New} {
			m, _ := v.(map[string]any)
			for _, k := range []string{"src", "model_version", "id", "root"} {
				id, ok := m[k].(string)
				if !ok || c.Kind == metatrack.ChangeCreated {
					continue
				}
				if _, done := refs[id]; done {
					continue
				}
				if r, err := t.GetResource(ctx, id, ""); err == nil {
					refs[id] = r.Ref()
				} else {
					refs[id] = id
				}
			}
		}
	}
	return refs
}

// writeChangeRows writes a table of changes to tw, each line led by
// indent, their values summarised by describeChange.
func writeChangeRows(tw *tabwriter.Writer, indent string, changes []changeJSON, refs map[string]string) {
	fmt.Fprintf(tw, "%sTIME (UTC)\tRUN\tKIND\tKEY\tOLD\tNEW\n", indent)
	for _, c := range changes {
		run := "-"
		if c.RunName != nil {
			run = *c.RunName
		}
		if c.Actor != "" {
			run += " (token " + c.Actor + ")"
		}
		old, new := describeChange(c, refs)
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\n", indent, tableTime(c.At), run, c.Kind, orDash(c.Key), old, new)
	}
}

// describeChange returns the old and new values of a change for a table:
// the records the library keeps for creations, edges, deployments and
// artifacts in a few words, with references instead of ids; other values as
// tableValue shows them.
func describeChange(c changeJSON, refs map[string]string) (old, new string) {
	ref := func(v any) string {
		id, _ := v.(string)
		if r, ok := refs[id]; ok {
			return r
		}
		return orDash(id)
	}
	rec := func(v any) map[string]any {
		m, _ := v.(map[string]any)
		return m
	}
	switch c.Kind {
	case metatrack.ChangeCreated:
		m := rec(c.New)
		var parts []string
		if st, ok := m["status"].(string); ok && st != "" {
			parts = append(parts, "status "+st)
		}
		if attrs, ok := m["attrs"]; ok {
			parts = append(parts, "attrs "+tableValue(attrs, 60))
		}
		if len(parts) == 0 {
			return "-", "-"
		}
		return "-", strings.Join(parts, "; ")
	case metatrack.ChangeEdge:
		if m := rec(c.New); m != nil {
			return "-", "from " + ref(m["src"])
		}
	case metatrack.ChangeDeployed, metatrack.ChangeUndeployed:
		if m := rec(c.New); m != nil {
			return "-", fmt.Sprintf("%s in %s", ref(m["model_version"]), tableValue(m["environment"], 0))
		}
	case metatrack.ChangeArtifact:
		return artifactCell(rec(c.Old)), artifactCell(rec(c.New))
	case metatrack.ChangeUnified:
		return ref(rec(c.Old)["id"]), ref(rec(c.New)["id"])
	case metatrack.ChangeAlias:
		// The version by reference, or by number when it is gone.
		cell := func(m map[string]any) string {
			if m == nil {
				return "-"
			}
			if r, ok := refs[fmt.Sprint(m["id"])]; ok && r != m["id"] {
				return r
			}
			return fmt.Sprintf("@%v (%v)", m["version"], m["id"])
		}
		return cell(rec(c.Old)), cell(rec(c.New))
	case metatrack.ChangeDeleted, metatrack.ChangeRestored:
		return "-", "with " + ref(rec(c.New)["root"])
	case metatrack.ChangePurged:
		return "-", fmt.Sprint(rec(c.New)["ref"])
	}
	return tableValue(c.Old, 40), tableValue(c.New, 60)
}

// artifactCell summarises the record of an artifact change.
func artifactCell(m map[string]any) string {
	if m == nil {
		return "-"
	}
	var parts []string
	if k, ok := m["kind"].(string); ok && k != "" {
		parts = append(parts, k)
	}
	switch n := m["size"].(type) {
	case int64:
		parts = append(parts, humanBytes(n))
	case float64:
		parts = append(parts, humanBytes(int64(n)))
	}
	if sum, ok := m["sha256"].(string); ok && len(sum) > 12 {
		parts = append(parts, "sha256 "+sum[:12]+"...")
	}
	if uri, ok := m["uri"].(string); ok && uri != "" {
		parts = append(parts, uri)
	}
	return strings.Join(parts, ", ")
}

// changesCSV are changes for -o csv: their old and new values as compact
// JSON text in one cell each, whatever their shape.
func changesCSV(changes []changeJSON) []changeJSON {
	out := make([]changeJSON, len(changes))
	for i, c := range changes {
		c.Old, c.New = jsonText(c.Old), jsonText(c.New)
		out[i] = c
	}
	return out
}
