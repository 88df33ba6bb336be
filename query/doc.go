// Package query is the filter language of metatrack: a small query language
// that users write in Go code and on the command line to select resources,
// compiled to parameterized SQL for the SQLite schema.
//
//	type = 'model_version' AND metadata.accuracy > 0.9 AND tags.env = 'prod'
//	metadata.params.lr <= 1e-3 OR attrs.trainer IN ('xgboost', 'lightgbm')
//	created_at > now-7d AND NOT status = 'FAILED' ORDER BY created_at DESC LIMIT 20
//	upstream_of('model_version/titanic_model@3') AND type = 'dataset_version'
//
// Parse a filter, then Compile it into a squirrel SELECT of resource seqs, or
// Where it into a condition for a SELECT of your own:
//
//	q, err := query.Parse(filter)
//	c, err := query.Compile(q, query.Options{Now: now, Resolve: resolve, Limit: 50, Cursor: cursor})
//	seqs, next, err := c.Seqs(ctx, db)
//
// # Grammar
//
// In EBNF; keywords, field names and function names are case-insensitive,
// keys are not. White space separates tokens and is otherwise ignored.
//
//	query      = [ or_expr ] [ order_by ] [ limit ] .
//	or_expr    = and_expr { "OR" and_expr } .
//	and_expr   = unary { "AND" unary } .
//	unary      = "NOT" unary | primary .
//	primary    = "(" or_expr ")" | "EXISTS" field | lineage | predicate .
//	lineage    = ( "upstream_of" | "downstream_of" ) "(" string [ "," integer ] ")" .
//	predicate  = field ( cmp_op value
//	                   | [ "NOT" ] "IN" "(" value { "," value } ")"
//	                   | [ "NOT" ] ( "LIKE" | "ILIKE" ) string
//	                   | "IS" [ "NOT" ] "NULL" ) .
//	cmp_op     = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" .
//	field      = name { "." key } .
//	key        = ident | quoted_key .
//	value      = string | integer | float | "true" | "false" | "null" | now | time .
//	order_by   = "ORDER" "BY" sort_key { "," sort_key } .
//	sort_key   = field [ "ASC" | "DESC" ] .
//	limit      = "LIMIT" integer .
//
//	ident      = ( letter | "_" ) { letter | digit | "_" } .     ASCII letters
//	quoted_key = "`" { any character; "``" is one backtick } "`" .
//	string     = "'" { char | "''" } "'" | '"' { char | '""' } '"' .
//	integer    = [ "-" ] digit { digit } .                     64 bits
//	float      = integer [ "." digit { digit } ] [ ( "e" | "E" ) [ "+" | "-" ] digit { digit } ] .
//	now        = "now" [ ( "-" | "+" ) digit { digit } unit ] . no spaces inside
//	unit       = "s" | "m" | "h" | "d" | "w" .                 second to week
//	time       = date [ ( "T" | " " ) clock [ zone ] ] .          no other spaces inside
//	date       = digit4 "-" digit2 "-" digit2 .                  2024-05-01
//	clock      = digit2 ":" digit2 [ ":" digit2 [ "." digit { digit } ] ] .
//	zone       = "Z" | ( "+" | "-" ) digit2 ":" digit2 | " UTC" .
//
// In strings a backslash escapes: \\ \' \" \n \r \t and \uXXXX. \% and \_
// keep their backslash, so that LIKE patterns read naturally ('50\%'); any
// other escape is an error. As in SQL, a doubled quote stands for one:
//
//	name = 'it''s'
//
// A character that cannot start a token right after a key
// (metadata.loss/001) is an error that spells out the key quoted in
// backticks. NOT binds tighter than AND, AND tighter than OR.
//
// # Fields
//
//	id, type, name, status   text columns of the resource (id: or a reference)
//	version                  the version number of chain members, else NULL
//	created_at, updated_at   times (stored as UTC milliseconds)
//	started_at, ended_at     times, NULL until set
//	parent                   the text id of the parent resource, or its reference
//	run                      the text id of the run that created the resource
//	run.name, run.status     the name and status of that run
//	alias                    the name of an alias that points to a chain member
//	                         (alias = 'champion'); a member with several aliases
//	                         matches through any of them, like tags; IS NULL: none
//	tags.<key>               a tag (text)
//	metadata.<key>[.<k>...]  a metadata value (JSON), or a value inside it
//	attrs.<key>[.<k>...]     a creation attribute (JSON), or a value inside it
//	metrics.<key>            the last value of the metric series key (a number)
//	metrics.<key>.<part>     a part of its summary: last, min, max (NaN values
//	                         left out), count (points), step (of the last point)
//
// Keys with characters other than ASCII letters, digits and _ are quoted in
// backticks: tags.`my key.x`, metadata.`f1-score`. A key inside a JSON value
// (after metadata.<key>, and every key of attrs) cannot contain a double
// quote. Array elements cannot be addressed.
//
// # Comparisons
//
// Text fields compare with strings, byte-wise; version with numbers; a
// mismatch (name = 3) is an error. parent, run, run.name and run.status are
// NULL, and match no comparison, when the resource has no parent or run.
//
// id and parent hold ids, and accept references wherever an id goes: with
// =, !=, IN and NOT IN, a value with a slash (model_version/titanic_model@2)
// is resolved by Options.Resolve, like the reference of a lineage
// predicate, and an error when it names no resource or several.
//
// Values that no resource can have are errors at the value: a type that is
// not a type name (types are lower case: 'Model_Version' suggests
// 'model_version'), and a run status other than RunStatuses (with the
// nearest as a suggestion). Statuses of resources are free text and any
// value is valid here; so are keys. Callers that know the data check the
// rest through Query.Terms: package metatrack refuses comparing a metadata
// key that holds only numbers with a string, and its CLI warns about keys
// no resource has.
//
// Time fields take UTC milliseconds (1714564800000), an RFC 3339 time
// (2024-05-01T12:00:00Z, fractional seconds allowed), a time as metatrack
// prints it (2024-05-01 12:00:00, UTC, also without seconds), a date
// (2024-05-01, midnight UTC), or a time relative to the clock of Options.Now:
// now, now-7d, now-3h, now-15m, now-30s, now+1w. Each may be quoted or not
// ('2024-05-01 12:00:00' and 2024-05-01 12:00:00 are the same); ParseTime
// reads the absolute forms.
//
// Metadata and attrs values are typed JSON. A comparison matches only values
// of the literal's type: numbers compare numerically with JSON numbers, strings
// with JSON strings, true and false with JSON booleans (= and != only). So
// metadata.acc > 0.5 never matches the string "0.9", and metadata.acc != 0.5
// matches numbers other than 0.5 but not strings or missing keys. In the same
// way an IN list matches values equal to an element, and NOT IN values that
// have the type of some element and equal none.
//
// Tags are text. A tag compared with a string compares as text; compared with
// a number it compares numerically with tags whose text is a JSON number
// ('12', '-0.5', '1e3'), and never matches other tags; true and false
// compare with the texts 'true' and 'false'.
//
// null: field = null is field IS NULL and field != null is field IS NOT NULL;
// other comparisons with null are errors. For tags, IS NULL means the tag is
// not set. For metadata and attrs, IS NULL means the key (or path) is missing
// or holds JSON null. EXISTS tags.k, EXISTS metadata.k[.path] and EXISTS
// attrs.k[.path] are true when the key or path is present, even if it holds
// JSON null.
//
// Metrics compare with numbers only (a string, boolean or time is an error).
// A last value that is NaN matches no comparison; +Inf and -Inf compare as
// the largest and smallest numbers. metrics.k IS NULL means the resource has
// no series k; EXISTS metrics.k that it has one. metrics.`val.loss` quotes a
// key with a dot; metrics.val.loss is an error, since loss is not a part.
//
// A predicate on a missing value is false, never NULL, to NOT as well: NOT p
// matches every resource that p does not match, including resources where
// the field is missing (NOT version = 3 matches resources without a version).
//
// # LIKE and ILIKE
//
// Patterns are SQL LIKE patterns: % matches any text, _ one character, and a
// backslash makes the next character literal (ESCAPE '\'); a pattern cannot
// end with a lone backslash. LIKE is case-sensitive: it is compiled to the
// equivalent GLOB pattern, because SQLite's LIKE ignores ASCII case (and
// PRAGMA case_sensitive_like is not used). ILIKE is case-insensitive for
// ASCII letters only: lower(x) LIKE lower(pattern) ESCAPE '\'. Both match
// text only: for metadata, attrs and tags, strings.
//
// # Lineage
//
// upstream_of(ref) matches the resources that the resource ref is derived
// from: following edges (data flows from src to dst) backwards from ref, any
// number of steps; downstream_of(ref) matches those derived from ref. An
// optional depth (1 to MaxLineageDepth) limits the number of steps. ref (an id
// or a reference) is resolved by Options.Resolve; the resource itself is not
// part of the result, and cycles are harmless.
//
// # Order and pages
//
// ORDER BY sorts by any field, ASC by default; NULLs (missing values) sort
// last in both directions. Tags sort as text; metadata and attrs by their
// number or string value, numbers before strings in both directions, other
// JSON values (booleans, null, objects, arrays) last like missing ones.
// r.seq (creation order) breaks ties and is the only key when there is no
// ORDER BY. LIMIT n is the most rows the query returns over all its pages;
// the page size is Options.Limit, and a page holds fewer rows when fewer are
// left of the LIMIT. The cursor of the next page encodes the sort values and
// seq of the last row and how many rows came before; Compile turns it into a
// keyset condition, so walking the pages returns every row once, in order,
// even while rows are added, and stops at the LIMIT.
//
// # Indexes
//
// Filters on tags, on top-level metadata values, on top-level attributes
// (attrs.<key>, kept in the attr_values table) and on metrics (the summary
// of each series, kept current on every write, with an index of each part)
// are searched by indexes;
// nested paths (metadata.k.x, attrs.a.b) read the JSON of each candidate.
// A query with tags.k = 'v', metadata.k = v or attrs.k = v walks the index
// of that value in seq order, and one ordered by metadata.k or by a metric
// column (metrics.k, metrics.k.min, ...) walks the index of k in the order
// of the page; both stop at the end of the page. How
// SQLite runs a query never changes what it returns: Options.NoDrive
// compiles the plain form, which tests compare with.
//
// # Safety
//
// No text of the user reaches the SQL: values are bound parameters, field
// names go through an allow-list, and tag keys, metadata keys and JSON paths
// ($."params"."lr", each key quoted) are parameters of fixed expressions.
// Lineage references are resolved to seqs before they are bound. Queries are
// limited by MaxLength, MaxDepth, MaxTerms, MaxList, MaxValues, MaxPath and
// MaxSortKeys.
//
// # Errors
//
// Every error of Parse, Compile, Where and Compiled.Cursor is an *Error and
// matches ErrInvalid; those about the query carry its position and a snippet
// (cursor errors have none). Compiled.Seqs returns database errors as they
// are.
//
//	invalid query at line 1, column 31 (offset 30): expected a value after =, found end of query
//	 | tags.env = 'prod' AND status =
//	 |                               ^
package query
