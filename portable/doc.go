// Package portable moves metatrack data between database files: Export
// writes a database, or the part of it a filter selects, in a documented,
// versioned, line-oriented format (FORMAT.md in this folder, field by
// field); Import reads it into another database; Merge brings everything
// of another database file into this one (Export of the other file piped
// into Import, streaming).
//
//	n, err := portable.Export(ctx, d, w, portable.ExportOptions{Filter: "type = 'model_version'"})
//	st, err := portable.Import(ctx, d, r, portable.ImportOptions{})
//	st, err := portable.Merge(ctx, d, "other.db", portable.MergeOptions{})
//
// # The format
//
// An export is UTF-8 text, one JSON object per line: a header naming the
// format and its version, then records, each with a "kind", in dependency
// order (artifact bytes, runs, resources parents first, tags, metadata,
// version-control records, artifacts, edges, deployments, history, metric
// series), then an end record with the count of records. Artifact bytes are base64, one line
// per stored chunk of at most 1 MiB, so both sides stream with bounded
// memory. Records name each other by global ids (resources, runs,
// artifacts, deployments, history entries), natural keys (a tag by resource
// id and key, an edge by source, relation and destination) or SHA-256 (the
// bytes of an artifact); the integer keys of a file never leave it.
//
// # What a filter selects
//
// Without a filter an export holds everything, unreferenced artifact bytes
// included. A filter (package query) selects resources; the export holds
// them and what they need: their ancestors through the parent chain (a
// model version's model) and their upstream lineage, to its end: the
// sources of every edge into an exported resource (the dataset versions a
// model version was trained on, and their datasets) and the winning
// experiment of an exported model version (ExportOptions.NoLineage leaves
// the lineage out). Of all these the export holds their runs, tags,
// metadata, version-control records, history, metric series, artifacts
// and bytes, the edges among exported resources and the deployments of
// exported versions.
// The earlier members of an exported chain member's chain come along as
// bare resource records with their version edges (and their deployments,
// so that a bare DEPLOYED version stays deployed), so that the chain stays
// numbered 1..n where it is imported.
//
// # Reconciliation
//
// Import adds what the database lacks and reconciles what both hold, so
// that importing the same export twice changes nothing, and merging A into
// B gives B the same content as merging B into A gives A:
//
//   - Runs, resources, artifacts, deployments and history entries are the
//     same record when their ids are equal. Identity fields (a resource's
//     type, name and parent; a run's name, host, user, pid and start; a
//     deployment's model, version, environment and start) must agree, or
//     the import fails (ErrInvalid).
//   - Resources: status, attributes, start and end time are one state; the
//     state with the later updated_at wins, ties broken by comparing the
//     values. Two resources with different ids and the same name, among
//     the roots of a type or among the children of one parent (a dataset
//     "titanic" created in both files), are the same resource: the one
//     created first (then the smaller id) keeps its id, creation time and
//     run, everything of both hangs under it, and its history records
//     ChangeUnified.
//   - Version chains: if both files gave the same number to different
//     members (both recorded a version 3 of a model), every member from the
//     first conflicting number on, of both files, is numbered again in the
//     order of creation time, then id, from that number on. Nothing is
//     dropped, numbers stay unique and gap-free, and both directions agree;
//     each member whose number changed records ChangeRenumbered with the
//     old and new number. References such as model_version/m@3 may
//     therefore name another version after a merge of diverged chains.
//   - Tags, metadata and version-control records (by resource and key):
//     the later updated_at wins, ties broken by comparing the values, then
//     the runs' ids. A tag deleted in one file stays deleted if its
//     deletion (in the history) is later than the other file's value.
//   - Artifacts (by id, and by resource and name): the later created_at
//     wins (logging a name again replaces its record), ties broken by the
//     values. Bytes are shared by SHA-256; a blob both files hold keeps
//     the earlier creation time.
//   - Runs: an end (FINISHED or FAILED) beats RUNNING; of two ends, the
//     later wins.
//   - Edges (by source, relation, destination): union; the same edge keeps
//     its earliest recording. A model version has one winning experiment:
//     the one chosen last (then the larger id) stays.
//   - Deployments: union by id; an interval ended on either side is ended,
//     at the earlier end. At most one deployment is open per model and
//     environment: the one deployed last (then the larger id) stays open,
//     an earlier open one ends when the later one began. That is recorded
//     as Deploy would record it (undeployed on the version and its model,
//     and the version DEMOTED if it is deployed nowhere else).
//   - History: union by id. Entries numbered by migration 0002 (random ids,
//     different in each copy of an older file) are also recognised by
//     their content.
//   - Metric series (by resource or run, and key): union of the points,
//     a point being the same point when its step, time and value are (see
//     FORMAT.md), so two copies that both appended merge to every point
//     of either, each once.
//
// The history entries Import writes itself have ids derived from what they
// record and no run, so they too are the same whichever way a merge runs.
//
// # What a file may bring
//
// Every record passes the rules the API applies when it writes the same
// thing (package rules: names, keys, values and their limits, types,
// statuses, artifact names, kinds, hashes and sizes, parents, edges,
// deployments), and after the records are written every chain the file
// touches must be numbered 1..n with its version edges; a chain that
// arrives with a gap is refused, not renumbered. A line that is not valid
// UTF-8 or holds a lone UTF-16 surrogate is refused rather than decoded to
// U+FFFD. A file that breaks any rule is refused as a whole (FORMAT.md
// lists the rules).
//
// Merge never runs anything of the other file: before reading it, it
// compares the file's schema with the one its version defines (package
// schema derives it from the embedded migrations) and refuses a file with
// a view, a trigger, or any table, column or index the migrations do not
// create (db.ErrUnexpectedSchema), before copying or migrating it.
//
// # Atomicity
//
// An import is all or nothing. Artifact bytes, first in an export, are
// staged in transactions of their own as blobs without a hash, invisible
// to readers; one transaction then writes every other record and makes the
// bytes visible. When the input is malformed or truncated (an error that
// matches ErrInvalid and names the line), or anything else fails, that
// transaction rolls back and the staged bytes are removed. The write lock
// is held while the records are read, so other writers wait for it.
package portable
