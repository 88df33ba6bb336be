package query

// fieldKind says how a field is stored and so how it compiles.
type fieldKind int

const (
	kindText   fieldKind = iota // a TEXT column of resources
	kindNumber                  // an INTEGER column of resources (version)
	kindTime                    // an INTEGER column of UTC milliseconds
	kindRef                     // a text column of a row that a resources column points to
	kindTag                     // tags.<key>
	kindMeta                    // metadata.<key>[.<path>...]
	kindAttr                    // attrs.<key>[.<path>...]
	kindAlias                   // the names of the aliases that point to the resource
	kindMetric                  // metrics.<key>[.<part>]: a metric series' summary
)

// fieldSpec is an entry of the allow-list of fields. Every SQL fragment in it
// is fixed text of this package.
type fieldSpec struct {
	kind     fieldKind
	col      string // the resources column; for kindRef the link column
	nullable bool   // the column may be NULL
	// For kindRef: the table the link points into, its key column and the
	// column compared with the value.
	from, target, refCol string
}

var fieldSpecs = map[string]fieldSpec{
	"id":         {kind: kindText, col: "r.id"},
	"type":       {kind: kindText, col: "r.type"},
	"name":       {kind: kindText, col: "r.name"},
	"status":     {kind: kindText, col: "r.status"},
	"version":    {kind: kindNumber, col: "r.version", nullable: true},
	"created_at": {kind: kindTime, col: "r.created_at"},
	"updated_at": {kind: kindTime, col: "r.updated_at"},
	"started_at": {kind: kindTime, col: "r.started_at", nullable: true},
	"ended_at":   {kind: kindTime, col: "r.ended_at", nullable: true},
	"parent":     {kind: kindRef, col: "r.parent_seq", nullable: true, from: "resources p", target: "p.seq", refCol: "p.id"},
	"run":        {kind: kindRef, col: "r.run_seq", nullable: true, from: "runs s", target: "s.seq", refCol: "s.id"},
	"run.name":   {kind: kindRef, col: "r.run_seq", nullable: true, from: "runs s", target: "s.seq", refCol: "s.name"},
	"run.status": {kind: kindRef, col: "r.run_seq", nullable: true, from: "runs s", target: "s.seq", refCol: "s.status"},
	"tags":       {kind: kindTag},
	"metadata":   {kind: kindMeta},
	"attrs":      {kind: kindAttr},
	"alias":      {kind: kindAlias},
	"metrics":    {kind: kindMetric},
}

// fieldList is the list of fields for error messages.
const fieldList = "id, type, name, version, status, parent, run, run.name, run.status, " +
	"created_at, updated_at, started_at, ended_at, alias, tags.<key>, metadata.<key>, attrs.<key>, " +
	"metrics.<key>[.min|.max|.count|.step]"

// kindName names what a field holds, for error messages.
func (s fieldSpec) kindName() string {
	switch s.kind {
	case kindNumber:
		return "a number"
	case kindTime:
		return "a time"
	case kindTag:
		return "a tag"
	case kindMeta:
		return "a metadata value"
	case kindAttr:
		return "an attribute"
	case kindMetric:
		return "a metric"
	}
	return "text"
}

// metricColumns are the metric_series columns of the parts of a metric
// summary: metrics.<key> is the last value.
var metricColumns = map[string]string{
	"last": "ms.last_value", "min": "ms.min_value", "max": "ms.max_value", "count": "ms.count", "step": "ms.last_step",
}

// metricField returns the series key and the metric_series column of a
// metrics field (keys [key] or [key, part], as the parser leaves them).
func metricField(keys []string) (key, col string) {
	if len(keys) == 1 {
		return keys[0], metricColumns["last"]
	}
	return keys[0], metricColumns[keys[1]]
}
