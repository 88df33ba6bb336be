package query

// Dialect is what the SQL of a compiled query needs from one database
// engine: how to read a JSON document, match a pattern, compare text
// byte-wise, type an argument and write a condition that is never NULL.
// The meaning of the language (fields, operators, typing, NULLs, order,
// cursors and which forms a query takes) is written once in this package;
// a Dialect only spells its pieces. Engines supply theirs: the SQLite one
// in storage/sqlite, the PostgreSQL one in storage/postgres.
//
// Every text a Dialect returns is fixed SQL of the engine package with ?
// placeholders (never a ? elsewhere, not even in a string literal: engines
// that number their placeholders rewrite each ?), and the arguments it
// returns go with those placeholders in order. A document column (doc) is a
// fixed column name of this package, a path a list of keys from the query,
// which the Dialect must pass as arguments, never as text.
type Dialect interface {
	// Name names the engine: "sqlite" or "postgres".
	Name() string

	// Planner returns the SQL of the forms of a query that are tuned to
	// the engine's planner: driven by an index of tags, metadata or
	// attribute values, walked through a window, or choosing between two
	// forms by a count (see drive.go). When it is nil, no query takes
	// those forms: it reads resources r with its conditions as semi-joins
	// (r.seq IN (SELECT ...) on the tables of tags, metadata and attribute
	// values), which return the same rows in the same order, and which a
	// planner with statistics runs well.
	Planner() Planner

	// False is a condition that is always false.
	False() string
	// NotTrue is the condition that cond is not true: false or NULL.
	NotTrue(cond string) string

	// Arg is the placeholder of an argument v (int64, float64 or string)
	// compared with an expression of v's type: "?", or "?" with a cast to
	// the type of v where the engine cannot infer it.
	Arg(v any) string

	// Ordered returns a text expression as it must be written where texts
	// are compared by order (<, >, ORDER BY, min): in byte order of their
	// UTF-8 (SQLite's BINARY collation), whatever the column's collation.
	Ordered(text string) string

	// JSON returns the expression or condition as of the value at path
	// (keys of nested objects, none for the whole document) in the JSON
	// document held in the column doc. A key of a path never indexes an
	// array, and a document or value that is not an object has no keys.
	JSON(doc string, path []string, as JSONForm) (sql string, args []any)

	// TextNumber returns the number that the text expression text spells
	// as a JSON number (RFC 8259, white space around it allowed), or NULL
	// when it spells none: how a tag value compares with a number.
	TextNumber(text string) string

	// Match returns the condition that the text expression text matches
	// the LIKE pattern of the language (% any text, _ one character, \
	// escapes the next character; a \ at the end stands for itself),
	// case-sensitively; when fold, with ASCII letters folded to lower
	// case (ILIKE; then a \ at the end matches nothing). not negates the
	// match; the condition is NULL or false where text is NULL.
	Match(text, pattern string, fold, not bool) (sql string, args []any)

	// Mixed returns the expression that is num where num is not NULL and
	// str otherwise, when one column of the engine can hold a number or a
	// text and sorts numbers before texts; "" when it cannot, and then a
	// metadata or attribute sort key is three columns (its rank, its
	// number and its text) instead of two (its rank and its value).
	Mixed(num, str string) string
}

// IndexOrder is an optional interface of a Dialect without a Planner
// whose engine plans by statistics (PostgreSQL). When OrdersByIndex
// reports true, a query whose only ORDER BY term is a top-level metadata
// value, with a predicate on that value that only numbers (or only
// strings) match, reads the metadata rows of its predicate in the order of
// the page (FROM metadata dm JOIN resources r ... ORDER BY dm.num,
// dm.resource_seq), so that the engine may walk metadata_key_num (or
// _str) and stop at the end of the page, where the plain form computes the
// sort key of every matching resource and sorts them all. The rows and
// their order are those of the plain form.
type IndexOrder interface {
	OrdersByIndex() bool
}

// RowCounts is an optional interface of a Dialect without a Planner. When
// CountsRows reports true, a query in its plain form with membership
// conditions (r.seq IN (SELECT ... FROM tags, metadata or attr_values))
// counts the rows of each of them (capped, in one statement whose result
// Plans remembers) and, when the smallest count is small, reads every
// matching resource in a MATERIALIZED common table expression and sorts
// them there, instead of running the plain form, whose plan rests on the
// engine's estimate of those rows. PostgreSQL estimated 417 rows for
// attrs.prediction_count > 999000 (attr_values.num holds the numbers of
// every key) where 20 match, and walked the primary key of resources in
// order to fill a page of 100. The rows and their order are those of the
// plain form.
type RowCounts interface {
	CountsRows() bool
}

// Planner is the SQL that the forms of drive.go need besides a Dialect's:
// they steer a planner without statistics (SQLite's) to the plan the
// compiler chose.
type Planner interface {
	// Unindexed returns the column col written so that the planner checks
	// it row by row instead of searching an index by it (SQLite: +col).
	Unindexed(col string) string
	// IfNull returns x, or y where x is NULL.
	IfNull(x, y string) string
	// Max and Min return the larger and the smaller of two values.
	Max(x, y string) string
	Min(x, y string) string
	// End returns a constant that sorts after every number (text when
	// text), or before every one when desc.
	End(text, desc bool) string
	// Materialized returns the keyword, with a space after it, that makes
	// a common table expression computed once, before the query that
	// reads it.
	Materialized() string
	// JoinInOrder returns the join keyword that keeps the table on its
	// left the outer one of the join.
	JoinInOrder() string
	// JSONFilter returns JSON(doc, path, as) for as JSONText or
	// JSONNumber in two pieces: value, the value at path whatever its
	// type, and check, the condition that it has the type of as. Where
	// JSON(...) OP x would be a condition of a WHERE ANDed with others,
	// value OP x AND check keeps the same rows, and checks the type only of
	// those whose value passes.
	JSONFilter(doc string, path []string, as JSONForm) (value string, valueArgs []any, check string, checkArgs []any)
}

// JSONForm is what Dialect.JSON returns of a JSON value.
type JSONForm int

const (
	// JSONText is the value when it is a string (as text, unescaped),
	// else NULL.
	JSONText JSONForm = iota
	// JSONNumber is the value when it is a number, else NULL.
	JSONNumber
	// JSONBool is 1 when the value is true, 0 when false, else NULL.
	JSONBool
	// JSONRank is the value's sort rank: 0 for a number, 1 for a string,
	// else NULL.
	JSONRank
	// JSONScalar is the value when it is a number or a string, else NULL,
	// in one column; "" when Mixed is not supported.
	JSONScalar
	// JSONNotNull is the condition that the value is there and not JSON
	// null; it may be NULL when the value is missing, so it is only used
	// where NULL counts as false.
	JSONNotNull
	// JSONIsNull is the condition, never NULL, that the value is missing
	// or JSON null.
	JSONIsNull
	// JSONIsNotNull is the condition, never NULL, that the value is there
	// and not JSON null.
	JSONIsNotNull
	// JSONExists is the condition, never NULL, that the value is there,
	// JSON null included.
	JSONExists
)
