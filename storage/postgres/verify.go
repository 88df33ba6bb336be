package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/metricstore"
)

var _ storage.Verifier = (*Engine)(nil)

// Verify checks the store on one REPEATABLE READ snapshot: its schema
// against the one its version's migrations create (every table, column,
// constraint, index, trigger, function, view, sequence, type, rule and
// policy in the store's schema; see the schema check below), indexes left
// invalid by a failed build, every foreign key (which a session with
// session_replication_role = replica writes past), then the domain's
// invariants that every engine checks (storage.DomainCheck: JSON values,
// blobs re-hashed chunk by chunk, artifacts, chains, deployments, aliases,
// deletion, the attribute index the trigger keeps, the change log) and the
// metric series (metricstore.Verify).
// Writers go on meanwhile. PostgreSQL has no check of its own data files
// that a client can run (no PRAGMA integrity_check): damaged pages show as
// errors of the reads, which Verify returns.
//
// Problems go in the Report; the error is for failures to check.
// progress, if not nil, is called with the artifact bytes checked so far
// and in all.
func (e *Engine) Verify(ctx context.Context, progress func(done, total int64)) (storage.Report, error) {
	var rep storage.Report
	err := e.ReadTx(ctx, func(tx storage.Tx) error {
		rep = storage.Report{}
		check := &storage.DomainCheck{Tx: tx, SQL: &statements.VerifyStatements, Report: &rep, Progress: progress}
		total, err := check.BlobBytes(ctx)
		if err != nil {
			return err
		}
		check.Total = total
		check.Advance(0)
		if err := e.verifySchema(ctx, tx, &rep); err != nil {
			return err
		}
		if !rep.OK() {
			// The checks below read the store's tables: on a schema that
			// is not metatrack's they would report consequences of what
			// is already reported, or fail.
			return nil
		}
		if err := e.verifyForeignKeys(ctx, tx, &rep); err != nil {
			return err
		}
		if err := check.Run(ctx); err != nil {
			return err
		}
		if err := metricstore.Verify(ctx, tx, &statements.MetricStatements, &rep); err != nil {
			return err
		}
		if check.Done < check.Total {
			check.Advance(check.Total - check.Done) // missing chunks were counted but not read
		}
		return nil
	})
	return rep, e.Classify(err)
}

// verifySchema compares the store's schema objects with those its
// version's migrations create, and reports the indexes PostgreSQL marks
// invalid.
func (e *Engine) verifySchema(ctx context.Context, tx storage.Tx, rep *storage.Report) error {
	v, err := e.schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	got, err := catalogObjects(ctx, tx, e.loc.Schema)
	if err != nil {
		return err
	}
	want, err := e.expectedObjects(ctx, v)
	if code := Code(err); code == codeInsufficientPrivilege || code == codeReadOnlyTransaction {
		// A role that may not create a schema (or a standby): the objects
		// the migrations name, compared by kind and name only.
		want, got, err = namedObjects(v), byName(got), nil
	}
	if err != nil {
		return err
	}
	for _, d := range compareObjects(got, want, v) {
		rep.Add(storage.ProblemSchema, d.Object, "%s", d.Detail)
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND NOT (i.indisvalid AND i.indisready) ORDER BY c.relname`, e.loc.Schema)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		rep.Add(storage.ProblemIntegrity, "index "+name, "is invalid (a CREATE INDEX CONCURRENTLY or REINDEX failed): queries do not use it; REINDEX INDEX it")
	}
	return rows.Err()
}

// schemaVersion returns the version whose schema the store should hold:
// golang-migrate's, or for a migration left dirty, the version before it
// unless schema_applied records it (as Open repairs it).
func (e *Engine) schemaVersion(ctx context.Context, tx storage.Tx) (uint, error) {
	var rows []struct {
		Version int64 `db:"version"`
		Dirty   bool  `db:"dirty"`
	}
	if err := tx.Select(ctx, &rows, `SELECT version, dirty FROM `+MigrationsTable+` LIMIT 1`); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	v := uint(rows[0].Version)
	if rows[0].Dirty {
		var applied int
		if err := tx.Get(ctx, &applied, `SELECT count(*) FROM schema_applied WHERE version = ?`, rows[0].Version); err != nil {
			return 0, err
		}
		if applied == 0 {
			v = previous(v)
		}
	}
	return v, nil
}

// verifyForeignKeys reports, for each foreign key of the store's tables,
// the rows that refer to a missing row. PostgreSQL enforces them, but not
// for a session with session_replication_role = replica (what logical
// replication and some restore tools run as), nor for a table whose
// triggers were disabled.
func (e *Engine) verifyForeignKeys(ctx context.Context, tx storage.Tx, rep *storage.Report) error {
	type fk struct {
		Name    string `db:"conname"`
		Table   string `db:"child"`
		Parent  string `db:"parent"`
		Cols    string `db:"cols"`
		Parents string `db:"parent_cols"`
	}
	var fks []fk
	err := tx.Select(ctx, &fks, `
		SELECT c.conname, cl.relname AS child, pcl.relname AS parent,
			(SELECT string_agg(a.attname, ',' ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY AS k (n, i)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS cols,
			(SELECT string_agg(a.attname, ',' ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY AS k (n, i)
				JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS parent_cols
		FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class pcl ON pcl.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = cl.relnamespace
		WHERE c.contype = 'f' AND n.nspname = ? ORDER BY cl.relname, c.conname`, e.loc.Schema)
	if err != nil {
		return err
	}
	for _, k := range fks {
		cols, parents := strings.Split(k.Cols, ","), strings.Split(k.Parents, ",")
		var set, match []string
		for i, c := range cols {
			set = append(set, "x."+quoteIdent(c)+" IS NOT NULL")
			match = append(match, "y."+quoteIdent(parents[i])+" = x."+quoteIdent(c))
		}
		// Identifiers from the catalog, quoted: no value of the user's.
		q := `SELECT count(*) FROM ` + quoteIdent(k.Table) + ` x WHERE ` + strings.Join(set, " AND ") +
			` AND NOT EXISTS (SELECT 1 FROM ` + quoteIdent(k.Parent) + ` y WHERE ` + strings.Join(match, " AND ") + `)`
		var n int64
		if err := tx.QueryRowxContext(ctx, q).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			rows := "1 row refers"
			if n > 1 {
				rows = fmt.Sprintf("%d rows refer", n)
			}
			rep.Add(storage.ProblemForeignKey, k.Table, "%s to a missing row of %s (%s, %s)", rows, k.Parent, k.Name, k.Cols)
		}
	}
	return nil
}

// object is one schema object as the catalog describes it: kind and name
// say what it is ("table runs", "column runs.name", "index runs_status",
// "function attr_values_sync()"), def its definition, with the schema's
// name taken out.
type object struct {
	kind, name, def string
}

// key names the object in a report.
func (o object) key() string { return o.kind + " " + o.name }

// catalogObjects reads every object of schema name from the catalog.
func catalogObjects(ctx context.Context, q storage.Queryer, name string) (map[string]object, error) {
	out := map[string]object{}
	add := func(query string, kind func(string) string) error {
		rows, err := q.QueryContext(ctx, query, name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, n, def string
			if err := rows.Scan(&k, &n, &def); err != nil {
				return err
			}
			o := object{kind: kind(k), name: n, def: strings.Join(strings.Fields(unqualify(def, name)), " ")}
			out[o.key()] = o
		}
		return rows.Err()
	}
	relkind := func(k string) string {
		switch k {
		case "r":
			return "table"
		case "p":
			return "partitioned table"
		case "v":
			return "view"
		case "m":
			return "materialized view"
		case "f":
			return "foreign table"
		case "S":
			return "sequence"
		case "c":
			return "type"
		case "i", "I":
			return "index"
		}
		return "relation"
	}
	same := func(k string) string { return k }
	steps := []struct {
		query string
		kind  func(string) string
	}{
		// Relations; an index's definition, a view's query.
		{`SELECT c.relkind::text, c.relname, CASE WHEN c.relkind IN ('i', 'I') THEN pg_get_indexdef(c.oid)
				WHEN c.relkind IN ('v', 'm') THEN coalesce(pg_get_viewdef(c.oid), '') ELSE '' END
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ?`, relkind},
		// Columns, with their types, defaults and identity.
		{`SELECT 'column', c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod)
				|| CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
				|| CASE a.attidentity WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' ELSE '' END
				|| CASE WHEN a.attgenerated <> '' THEN ' GENERATED' ELSE '' END
				|| coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
			FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
			WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped`, same},
		// Constraints of tables (primary and foreign keys, unique, check).
		{`SELECT 'constraint', cl.relname || '.' || c.conname, pg_get_constraintdef(c.oid)
			FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
			WHERE n.nspname = ?`, same},
		// Triggers, but those PostgreSQL makes for foreign keys.
		{`SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid)
			FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ? AND NOT t.tgisinternal`, same},
		// Functions, procedures and aggregates.
		{`SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' ELSE 'function' END,
				p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
				CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE '' END
			FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ?`, same},
		// Types of their own (not the row and array types of tables).
		{`SELECT 'type', t.typname, t.typtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
			WHERE n.nspname = ? AND t.typtype IN ('b', 'd', 'e', 'r', 'm') AND NOT (t.typtype = 'b' AND t.typelem <> 0)`, same},
		// Rules (a view's own is part of the view) and row security.
		{`SELECT 'rule', r.rulename, pg_get_ruledef(r.oid) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND r.rulename <> '_RETURN'`, same},
		{`SELECT 'policy', tablename || '.' || policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '')
			FROM pg_policies WHERE schemaname = ?`, same},
		{`SELECT 'row security', c.relname, 'enabled' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ? AND c.relrowsecurity`, same},
	}
	for _, s := range steps {
		if err := add(s.query, s.kind); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// unqualify takes the schema's name out of a definition (pg_get_indexdef
// and pg_get_functiondef qualify names with it), so that the store's
// definitions compare with those of the scratch schema they are checked
// against.
func unqualify(def, schemaName string) string {
	for _, form := range []string{quoteIdent(schemaName), schemaName} {
		def = strings.ReplaceAll(def, form+".", "")
		def = strings.ReplaceAll(def, "'"+strings.ReplaceAll(form, "'", "''")+"'", "'<schema>'")
	}
	return def
}

// compareObjects returns how got differs from want: objects that version
// v does not define, or defines otherwise, then those missing.
func compareObjects(got, want map[string]object, v uint) []schema.Difference {
	var diffs, missing []schema.Difference
	for k, g := range got {
		w, ok := want[k]
		switch {
		case !ok:
			detail := fmt.Sprintf("is not part of schema version %d", v)
			if g.def != "" {
				detail += " (" + clip(g.def) + ")"
			}
			diffs = append(diffs, schema.Difference{Object: k, Detail: detail})
		case g.def != w.def:
			diffs = append(diffs, schema.Difference{Object: k, Detail: fmt.Sprintf("is defined as %s; schema version %d defines %s", clip(g.def), v, clip(w.def))})
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, schema.Difference{Object: k, Detail: fmt.Sprintf("is missing (schema version %d defines it)", v)})
		}
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].Object < diffs[j].Object })
	sort.Slice(missing, func(i, j int) bool { return missing[i].Object < missing[j].Object })
	return append(diffs, missing...)
}

// clip shortens a definition for a message.
func clip(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// SQLSTATEs of a role that may not create the scratch schema, and of a
// server that takes no writes (a standby).
const (
	codeInsufficientPrivilege = "42501"
	codeReadOnlyTransaction   = "25006"
)

// The objects a migration names, for namedObjects.
var (
	createFunction = regexp.MustCompile(`(?im)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([a-z_][a-z0-9_]*)\s*\(`)
	createTrigger  = regexp.MustCompile(`(?im)^\s*CREATE\s+TRIGGER\s+([a-z_][a-z0-9_]*)`)
)

// namedKinds are the kinds of object that namedObjects and byName compare:
// those a migration names. (Indexes, constraints, sequences and columns
// are named by PostgreSQL too, and compared only against a built schema.)
var namedKinds = map[string]bool{"table": true, "partitioned table": true, "view": true, "materialized view": true,
	"foreign table": true, "type": true, "function": true, "procedure": true, "aggregate": true, "window function": true,
	"trigger": true, "rule": true, "policy": true, "row security": true}

// namedObjects returns the tables, functions and triggers that the
// migrations up to version v create, by name: what the schema is checked
// against when the scratch schema cannot be built. Functions are named
// without their arguments.
func namedObjects(v uint) map[string]object {
	out := map[string]object{}
	for t := range tablesUpTo(v) {
		o := object{kind: "table", name: t}
		out[o.key()] = o
	}
	fsys := schema.Postgres()
	versions, _ := schema.Versions(fsys)
	for _, n := range versions {
		if n > v {
			break
		}
		matches, _ := fs.Glob(fsys, fmt.Sprintf("%04d_*.up.sql", n))
		for _, m := range matches {
			text, _ := fs.ReadFile(fsys, m)
			for _, f := range createFunction.FindAllStringSubmatch(string(text), -1) {
				o := object{kind: "function", name: strings.ToLower(f[1])}
				out[o.key()] = o
			}
			for _, f := range createTrigger.FindAllStringSubmatch(string(text), -1) {
				o := object{kind: "trigger", name: strings.ToLower(f[1])}
				out[o.key()] = o
			}
		}
	}
	return out
}

// byName keeps the objects of the kinds namedObjects names, by kind and
// name only (a function without its arguments).
func byName(objs map[string]object) map[string]object {
	out := map[string]object{}
	for _, o := range objs {
		if !namedKinds[o.kind] {
			continue
		}
		if strings.Contains(o.kind, "function") || o.kind == "procedure" || o.kind == "aggregate" {
			o.name, _, _ = strings.Cut(o.name, "(")
		}
		n := object{kind: o.kind, name: o.name}
		out[n.key()] = n
	}
	return out
}

// expected caches the objects each schema version defines, per server
// version (the catalog's definitions read differently from one release to
// the next); they are the same for every store of one version.
var expected struct {
	mu       sync.Mutex
	versions map[expectedKey]map[string]object
}

// expectedKey is a schema version on a server version.
type expectedKey struct {
	schema uint
	server string
}

// expectedObjects returns the objects that the migrations up to version v
// create: they are applied to a scratch schema in a transaction that is
// rolled back, so nothing stays on the server, and the catalog is read as
// for the store. It needs the privilege to create a schema in the
// database, as Open does for a new store; without it (or on a standby),
// verifySchema compares the objects the migrations name, by name.
func (e *Engine) expectedObjects(ctx context.Context, v uint) (map[string]object, error) {
	key := expectedKey{schema: v}
	if err := e.db.GetContext(ctx, &key.server, `SHOW server_version_num`); err != nil {
		return nil, err
	}
	expected.mu.Lock()
	defer expected.mu.Unlock()
	if objs, ok := expected.versions[key]; ok {
		return objs, nil
	}
	var b [8]byte
	rand.Read(b[:])
	scratch := "metatrack_expected_" + hex.EncodeToString(b[:])
	tx, err := e.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	fail := func(err error) (map[string]object, error) {
		return nil, fmt.Errorf("postgres: building the schema of version %d to check the store against (in a schema rolled back): %w", v, err)
	}
	for _, stmt := range []string{
		`SET TRANSACTION READ WRITE`, // on an engine opened read-only too: nothing is committed
		`CREATE SCHEMA ` + quoteIdent(scratch),
		`SET LOCAL search_path TO ` + quoteIdent(scratch),
		// golang-migrate's pgx/v5 driver's bookkeeping table.
		`CREATE TABLE ` + MigrationsTable + ` (version bigint not null primary key, dirty boolean not null)`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fail(err)
		}
	}
	fsys := schema.Postgres()
	versions, err := schema.Versions(fsys)
	if err != nil {
		return nil, err
	}
	for _, n := range versions {
		if n > v {
			break
		}
		matches, err := fs.Glob(fsys, fmt.Sprintf("%04d_*.up.sql", n))
		if err != nil || len(matches) != 1 {
			return fail(fmt.Errorf("migration %d: %d files, %v", n, len(matches), err))
		}
		text, err := fs.ReadFile(fsys, matches[0])
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, string(text)); err != nil {
			return fail(fmt.Errorf("migration %d: %w", n, err))
		}
	}
	objs, err := catalogObjects(ctx, &pgTx{e: e, q: tx}, scratch)
	if err != nil {
		return fail(err)
	}
	if expected.versions == nil {
		expected.versions = map[expectedKey]map[string]object{}
	}
	expected.versions[key] = objs
	return objs, nil
}

// verifySQL holds the PostgreSQL texts of the checks of the domain's
// invariants (see storage.DomainCheck).
var verifySQL = storage.VerifyStatements{
	VerifyBlobBytes: `SELECT coalesce(sum(size), 0)::bigint FROM blobs WHERE sha256 IS NOT NULL`,
	VerifyResources: `SELECT count(*) FROM resources`,
	// PostgreSQL 15 cannot test text for JSON without failing on the first
	// that is not (pg_input_is_valid is PostgreSQL 16's), so every
	// document goes to DomainCheck, which tests each.
	VerifyJSON: `
		SELECT 'resource ' || id, 'attrs', attrs FROM resources
		UNION ALL SELECT 'metadata ' || m.key || ' of ' || r.id, 'value', m.value FROM metadata m JOIN resources r ON r.seq = m.resource_seq
		UNION ALL SELECT 'vc_info ' || c.key || ' of ' || r.id, 'info', c.info FROM vc_info c JOIN resources r ON r.seq = c.resource_seq
		UNION ALL SELECT 'vc_info ' || c.key || ' of ' || r.id, 'extra', c.extra FROM vc_info c JOIN resources r ON r.seq = c.resource_seq
		UNION ALL SELECT 'history entry ' || coalesce(id, seq::text), 'old value', old_value FROM history WHERE old_value IS NOT NULL
		UNION ALL SELECT 'history entry ' || coalesce(id, seq::text), 'new value', new_value FROM history WHERE new_value IS NOT NULL`,
	VerifyChainTypes: `SELECT id, type, name FROM resources
		WHERE (version IS NULL AND type ~ '^.+_version$') OR (version IS NOT NULL AND type !~ '^.+_version$')`,
	VerifyBadChains: `SELECT type, name FROM (SELECT type, name, version FROM resources WHERE version IS NOT NULL
			UNION ALL SELECT type, name, version FROM purged WHERE version IS NOT NULL AND id NOT IN (SELECT id FROM resources)) AS members
		GROUP BY type, name
		HAVING min(version) <> 1 OR max(version) <> count(*) OR count(DISTINCT version) <> count(*)`,
	VerifyChainNumbers: `SELECT version FROM (SELECT version FROM resources WHERE type = ? AND name = ? AND version IS NOT NULL
			UNION ALL SELECT version FROM purged WHERE type = ? AND name = ? AND version IS NOT NULL
				AND id NOT IN (SELECT id FROM resources)) AS members ORDER BY version`,
	VerifyChainParents: `SELECT r.id, r.type, r.name, r.version, coalesce(p.type, ''), coalesce(p.name, ''), p.seq IS NULL, p.parent_seq IS NOT NULL,
			EXISTS (SELECT 1 FROM edges e WHERE e.src_seq = r.parent_seq AND e.relation = 'version' AND e.dst_seq = r.seq)
		FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq WHERE r.version IS NOT NULL AND r.type ~ '^.+_version$'`,
	VerifyOpenDeployments: `SELECT m.id, d.environment, count(*) FROM deployments d JOIN resources m ON m.seq = d.model_seq
		WHERE d.undeployed_at IS NULL GROUP BY m.id, d.model_seq, d.environment HAVING count(*) > 1`,
	VerifyDeploymentTargets: `SELECT d.id, mv.type, mv.parent_seq IS NOT DISTINCT FROM d.model_seq, d.undeployed_at < d.deployed_at
		FROM deployments d JOIN resources mv ON mv.seq = d.model_version_seq
		WHERE mv.type <> 'model_version' OR mv.parent_seq IS DISTINCT FROM d.model_seq OR d.undeployed_at < d.deployed_at`,
	VerifyDeployedStatus: `SELECT id, name, coalesce(version, 0), status, open FROM (
			SELECT r.id, r.name, r.version, r.status,
				(SELECT count(*) FROM deployments d WHERE d.model_version_seq = r.seq AND d.undeployed_at IS NULL) AS open
			FROM resources r WHERE r.type = 'model_version') AS mv
		WHERE (status = 'DEPLOYED') <> (open > 0)`,
	VerifyAliases: `SELECT h.id, a.name, mv.id, mv.version IS NOT NULL AND mv.parent_seq IS NOT DISTINCT FROM a.head_seq, mv.deleted_at IS NOT NULL
		FROM aliases a JOIN resources h ON h.seq = a.head_seq JOIN resources mv ON mv.seq = a.version_seq
		WHERE mv.version IS NULL OR mv.parent_seq IS DISTINCT FROM a.head_seq OR mv.deleted_at IS NOT NULL`,
	VerifyDeletedParents: `SELECT c.id, p.id FROM resources c JOIN resources p ON p.seq = c.parent_seq
		WHERE c.deleted_at IS NULL AND p.deleted_at IS NOT NULL`,
	VerifyDeletedDeployed: `SELECT mv.id, d.environment FROM deployments d JOIN resources mv ON mv.seq = d.model_version_seq
		WHERE d.undeployed_at IS NULL AND mv.deleted_at IS NOT NULL`,
	VerifyArtifacts: `SELECT a.id, a.name, r.id, a.sha256, a.size, a.blob_seq IS NULL, a.uri, b.seq IS NULL, coalesce(b.sha256, ''), coalesce(b.size, 0)
		FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq
		WHERE (a.blob_seq IS NULL AND a.uri = '') OR (a.blob_seq IS NOT NULL AND (b.seq IS NULL OR b.sha256 IS NULL OR b.sha256 <> a.sha256 OR b.size <> a.size))`,
	VerifyBlobs:      `SELECT seq, sha256, size, chunk_size FROM blobs WHERE sha256 IS NOT NULL ORDER BY seq`,
	VerifyBlobChunks: `SELECT idx, data FROM blob_chunks WHERE blob_seq = ? ORDER BY idx`,
	VerifyBlobHits: `SELECT a.id, a.name, r.id, r.type, r.name, r.version, p.type, p.name, p.version FROM artifacts a
		JOIN resources r ON r.seq = a.resource_seq LEFT JOIN resources p ON p.seq = r.parent_seq
		WHERE a.blob_seq = ? ORDER BY a.seq`,
	// What attr_values should hold is what the migration's backfill and
	// the trigger write (schema/postgres/0003_attr_values.up.sql). It runs
	// only when every attrs document is JSON.
	VerifyAttrValues: `WITH want AS (
			SELECT DISTINCT ON (r.seq, e.key) r.seq, e.key,
				CASE WHEN json_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric END AS num,
				CASE WHEN json_typeof(e.value) = 'string' THEN e.value #>> '{}' END AS str
			FROM resources r,
				json_each(CASE WHEN json_typeof(r.attrs::json) = 'object' THEN r.attrs::json ELSE '{}' END) WITH ORDINALITY AS e (key, value, ord)
			WHERE r.attrs <> '{}'
			ORDER BY r.seq, e.key, e.ord)
		SELECT r.id, x.key, x.state FROM (
			SELECT w.seq, w.key, CASE WHEN a.resource_seq IS NULL THEN 'missing' ELSE 'differs' END AS state
			FROM want w LEFT JOIN attr_values a ON a.resource_seq = w.seq AND a.key = w.key
			WHERE a.resource_seq IS NULL OR a.num IS DISTINCT FROM w.num OR a.str IS DISTINCT FROM w.str
			UNION ALL SELECT a.resource_seq, a.key, 'extra' FROM attr_values a
			WHERE NOT EXISTS (SELECT 1 FROM want w WHERE w.seq = a.resource_seq AND w.key = a.key)
		) x JOIN resources r ON r.seq = x.seq ORDER BY r.seq, x.key`,
	VerifyHistoryIDs: `SELECT h.seq, r.id FROM history h JOIN resources r ON r.seq = h.resource_seq WHERE h.id IS NULL OR h.id = '' ORDER BY h.seq`,
}
