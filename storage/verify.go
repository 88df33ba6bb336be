package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/metatrack/metatrack/rules"
)

// VerifyStatements are the statements of the checks of the domain's
// invariants that every engine's Verify runs (see DomainCheck): what a
// version chain, a deployment, an alias, a deletion, an artifact, a blob,
// the attribute index and the change log must be. Each lists what breaks
// an invariant, so that a sound store returns no rows.
type VerifyStatements struct {
	// VerifyBlobBytes sums the sizes of the complete blobs.
	VerifyBlobBytes string
	// VerifyResources counts the resources.
	VerifyResources string
	// VerifyJSON lists what, field, value of the stored JSON documents
	// (attributes, metadata values, version-control records, history
	// values) to check: only the invalid ones where the engine can tell in
	// SQL, else all of them (DomainCheck checks each value again).
	VerifyJSON string
	// VerifyChainTypes lists id, type, name of the resources with a version
	// number that are not of a chain type (<kind>_version), and those of a
	// chain type without one.
	VerifyChainTypes string
	// VerifyBadChains lists type, name of the chains not numbered 1..n
	// without gaps, the numbers of purged members counted as taken.
	VerifyBadChains string
	// VerifyChainNumbers lists the sorted numbers of one chain, purged
	// members' included. Args: type, name, type, name.
	VerifyChainNumbers string
	// VerifyChainParents lists id, type, name, version of each chain
	// member with its parent's type and name ('' when none), whether it
	// has no parent, whether its parent has a parent, and whether the
	// version edge from the parent is there.
	VerifyChainParents string
	// VerifyOpenDeployments lists model id, environment, count where more
	// than one deployment is open.
	VerifyOpenDeployments string
	// VerifyDeploymentTargets lists id, deployed type, whether the version
	// belongs to the deployment's model and whether the deployment ends
	// before it starts (NULL while open), for the deployments where one of
	// them is wrong.
	VerifyDeploymentTargets string
	// VerifyDeployedStatus lists id, name, version, status and open
	// deployments of the model versions whose status DEPLOYED disagrees
	// with having an open deployment.
	VerifyDeployedStatus string
	// VerifyAliases lists head id, alias name, version id, whether the
	// version is a member of the head's chain and whether it is deleted,
	// for the aliases where it is not a live member.
	VerifyAliases string
	// VerifyDeletedParents lists child id, parent id of the live resources
	// under a deleted parent.
	VerifyDeletedParents string
	// VerifyDeletedDeployed lists version id, environment of the deleted
	// versions with an open deployment.
	VerifyDeletedDeployed string
	// VerifyArtifacts lists id, name, resource id, sha256, size, whether it
	// has no blob, uri, whether the blob is missing, the blob's sha256 ('',
	// also while staged) and size, for the artifacts whose bytes are not
	// a complete blob of their hash and size (or that have neither bytes
	// nor a URI).
	VerifyArtifacts string
	// VerifyBlobs lists seq, sha256, size, chunk_size of the complete
	// blobs in seq order.
	VerifyBlobs string
	// VerifyBlobChunks lists idx, data of one blob's chunks in order.
	// Args: blob seq.
	VerifyBlobChunks string
	// VerifyBlobHits lists the artifacts that use one blob: artifact id and
	// name, resource id, type, name, version, and its parent's type, name,
	// version (NULL when none). Args: blob seq.
	VerifyBlobHits string
	// VerifyAttrValues lists resource id, key, and "missing", "extra" or
	// "differs" for the rows of attr_values that are not what the
	// resource's attrs document gives (the engine's trigger keeps them in
	// step).
	VerifyAttrValues string
	// VerifyHistoryIDs lists the seq and resource id of the change-log
	// entries without an id.
	VerifyHistoryIDs string
}

// DomainCheck checks the domain's invariants on one read snapshot, with
// the engine's VerifyStatements; an engine's Verify runs its own checks
// (schema, integrity) around it. Problems go in Report.
type DomainCheck struct {
	// Tx is the read snapshot the checks read.
	Tx Tx
	// SQL is the engine's texts of the checks.
	SQL *VerifyStatements
	// Report collects the problems.
	Report *Report
	// Progress, if not nil, is called with Done and Total as they grow.
	Progress func(done, total int64)
	// Done and Total are the bytes checked so far and in all: the engine's
	// own share, then the artifact bytes (which BlobBytes adds).
	Done, Total int64
}

// Advance counts n more bytes checked and reports the progress.
func (c *DomainCheck) Advance(n int64) {
	c.Done += n
	if c.Progress != nil {
		c.Progress(c.Done, c.Total)
	}
}

// BlobBytes returns the bytes of the complete blobs, which Run reads.
func (c *DomainCheck) BlobBytes(ctx context.Context) (int64, error) {
	var n int64
	err := c.Tx.Get(ctx, &n, c.SQL.VerifyBlobBytes)
	return n, err
}

// Rows runs the fixed statement query and calls scan for each row.
func (c *DomainCheck) Rows(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := c.Tx.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Run runs every check of the domain's invariants and counts the
// resources. Checks that would fail on what an earlier one reported (the
// attribute index of an attrs document that is not JSON) are left out.
func (c *DomainCheck) Run(ctx context.Context) error {
	before := len(c.Report.Problems) + c.Report.Omitted
	if err := c.json(ctx); err != nil {
		return err
	}
	jsonOK := len(c.Report.Problems)+c.Report.Omitted == before
	for _, step := range []func(context.Context) error{c.chains, c.deployments, c.deployedStatus, c.aliasesAndDeletion, c.artifacts, c.blobs, c.history} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	if jsonOK {
		if err := c.attrValues(ctx); err != nil {
			return err
		}
	}
	return c.Tx.Get(ctx, &c.Report.Resources, c.SQL.VerifyResources)
}

func (c *DomainCheck) json(ctx context.Context) error {
	return c.Rows(ctx, c.SQL.VerifyJSON, nil, func(rows *sql.Rows) error {
		var what, field string
		var value sql.RawBytes
		if err := rows.Scan(&what, &field, &value); err != nil {
			return err
		}
		if !json.Valid(value) {
			c.Report.Add(ProblemJSON, what, "the %s is not valid JSON", field)
		} else if err := rules.UniqueNames(value); err != nil {
			c.Report.Add(ProblemJSON, what, "the %s %v", field, err)
		}
		return nil
	})
}

func (c *DomainCheck) chains(ctx context.Context) error {
	// Chain types (<kind>_version) and only they have versions.
	err := c.Rows(ctx, c.SQL.VerifyChainTypes, nil, func(rows *sql.Rows) error {
		var id, typ, name string
		if err := rows.Scan(&id, &typ, &name); err != nil {
			return err
		}
		if strings.HasSuffix(typ, "_version") {
			c.Report.Add(ProblemChain, "resource "+id, "the %s %q has no version number", typ, name)
		} else {
			c.Report.Add(ProblemChain, "resource "+id, "the %s %q has a version number but is not a chain type", typ, name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Numbers 1..n without gaps.
	type chain struct{ typ, name string }
	var bad []chain
	err = c.Rows(ctx, c.SQL.VerifyBadChains, nil, func(rows *sql.Rows) error {
		var ch chain
		if err := rows.Scan(&ch.typ, &ch.name); err != nil {
			return err
		}
		bad = append(bad, ch)
		return nil
	})
	if err != nil {
		return err
	}
	for _, ch := range bad {
		var versions []int64
		if err := c.Tx.Select(ctx, &versions, c.SQL.VerifyChainNumbers, ch.typ, ch.name, ch.typ, ch.name); err != nil {
			return err
		}
		c.Report.Add(ProblemChain, "chain "+ch.typ+"/"+ch.name, "%s", GapDetail(versions))
	}
	// Each member hangs under its head, which names the chain, with a
	// version edge from it.
	return c.Rows(ctx, c.SQL.VerifyChainParents, nil, func(rows *sql.Rows) error {
		var id, typ, name, ptyp, pname string
		var version int64
		var noParent, parentHasParent, edge bool
		if err := rows.Scan(&id, &typ, &name, &version, &ptyp, &pname, &noParent, &parentHasParent, &edge); err != nil {
			return err
		}
		what := fmt.Sprintf("%s/%s@%d (%s)", typ, name, version, id)
		switch {
		case noParent:
			c.Report.Add(ProblemChain, what, "has no parent")
		case ptyp+"_version" != typ || pname != name || parentHasParent:
			c.Report.Add(ProblemChain, what, "its parent is the %s %q, not the chain head %s/%s", ptyp, pname, strings.TrimSuffix(typ, "_version"), name)
		case !edge:
			c.Report.Add(ProblemChain, what, "the version edge from its chain head is missing")
		}
		return nil
	})
}

// GapDetail describes what is wrong with a chain's sorted numbers.
func GapDetail(versions []int64) string {
	if len(versions) == 0 {
		return "no members"
	}
	var missing, dup []string
	want := int64(1)
	for i, n := range versions {
		if i > 0 && n == versions[i-1] {
			dup = append(dup, strconv.FormatInt(n, 10))
			continue
		}
		for ; want < n && len(missing) < 20; want++ {
			missing = append(missing, strconv.FormatInt(want, 10))
		}
		want = n + 1
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing version "+strings.Join(missing, ", "))
	}
	if len(dup) > 0 {
		parts = append(parts, "version "+strings.Join(dup, ", ")+" twice")
	}
	return fmt.Sprintf("%d members numbered up to %d: %s", len(versions), versions[len(versions)-1], strings.Join(parts, "; "))
}

func (c *DomainCheck) deployments(ctx context.Context) error {
	err := c.Rows(ctx, c.SQL.VerifyOpenDeployments, nil, func(rows *sql.Rows) error {
		var model, env string
		var n int64
		if err := rows.Scan(&model, &env, &n); err != nil {
			return err
		}
		c.Report.Add(ProblemDeployment, "model "+model, "%d deployments are open in environment %q", n, env)
		return nil
	})
	if err != nil {
		return err
	}
	return c.Rows(ctx, c.SQL.VerifyDeploymentTargets, nil, func(rows *sql.Rows) error {
		var id, typ string
		var sameModel bool
		var backwards sql.NullBool
		if err := rows.Scan(&id, &typ, &sameModel, &backwards); err != nil {
			return err
		}
		switch {
		case typ != "model_version":
			c.Report.Add(ProblemDeployment, "deployment "+id, "deploys a %s, not a model_version", typ)
		case !sameModel:
			c.Report.Add(ProblemDeployment, "deployment "+id, "deploys a version of another model than its own")
		default:
			c.Report.Add(ProblemDeployment, "deployment "+id, "ends before it starts")
		}
		return nil
	})
}

// aliasesAndDeletion checks what the tracker keeps true of aliases and
// deleted resources: an alias points to a live version of its own chain;
// nothing live hangs under a deleted resource; no deleted version is
// deployed.
func (c *DomainCheck) aliasesAndDeletion(ctx context.Context) error {
	err := c.Rows(ctx, c.SQL.VerifyAliases, nil, func(rows *sql.Rows) error {
		var head, name, mv string
		var member, deleted bool
		if err := rows.Scan(&head, &name, &mv, &member, &deleted); err != nil {
			return err
		}
		if !member {
			c.Report.Add(ProblemAlias, "alias "+name+" of "+head, "points to %s, which is not a version of its chain", mv)
		} else {
			c.Report.Add(ProblemAlias, "alias "+name+" of "+head, "points to %s, which is deleted", mv)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = c.Rows(ctx, c.SQL.VerifyDeletedParents, nil, func(rows *sql.Rows) error {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return err
		}
		c.Report.Add(ProblemDeleted, "resource "+child, "is not deleted, and its parent %s is", parent)
		return nil
	})
	if err != nil {
		return err
	}
	return c.Rows(ctx, c.SQL.VerifyDeletedDeployed, nil, func(rows *sql.Rows) error {
		var mv, env string
		if err := rows.Scan(&mv, &env); err != nil {
			return err
		}
		c.Report.Add(ProblemDeleted, "resource "+mv, "is deleted and deployed in %q", env)
		return nil
	})
}

// deployedStatus reports the model versions whose status and deployments
// disagree: the tracker keeps a version DEPLOYED exactly while it has an
// open deployment.
func (c *DomainCheck) deployedStatus(ctx context.Context) error {
	return c.Rows(ctx, c.SQL.VerifyDeployedStatus, nil, func(rows *sql.Rows) error {
		var id, name, status string
		var version, open int64
		if err := rows.Scan(&id, &name, &version, &status, &open); err != nil {
			return err
		}
		what := fmt.Sprintf("model_version/%s@%d (%s)", name, version, id)
		if open == 0 {
			c.Report.Add(ProblemDeployment, what, "its status is DEPLOYED, but no deployment of it is open")
		} else {
			deps := "an open deployment"
			if open > 1 {
				deps = strconv.FormatInt(open, 10) + " open deployments"
			}
			c.Report.Add(ProblemDeployment, what, "it has %s, but its status is %q, not DEPLOYED", deps, status)
		}
		return nil
	})
}

func (c *DomainCheck) artifacts(ctx context.Context) error {
	return c.Rows(ctx, c.SQL.VerifyArtifacts, nil, func(rows *sql.Rows) error {
		var id, name, res, sum, uri, blobSum string
		var size, blobSize int64
		var noBlob, blobMissing bool
		if err := rows.Scan(&id, &name, &res, &sum, &size, &noBlob, &uri, &blobMissing, &blobSum, &blobSize); err != nil {
			return err
		}
		what := fmt.Sprintf("artifact %s of %s (%s)", name, res, id)
		switch {
		case noBlob:
			c.Report.Add(ProblemArtifact, what, "has neither stored bytes nor a URI")
		case blobMissing:
			c.Report.Add(ProblemArtifact, what, "its blob is missing")
		case blobSum == "":
			c.Report.Add(ProblemArtifact, what, "its blob is an unfinished upload")
		default:
			c.Report.Add(ProblemArtifact, what, "records SHA-256 %s and %d bytes, its blob holds %s and %d bytes", sum, size, blobSum, blobSize)
		}
		return nil
	})
}

// blobs re-hashes every complete blob's chunks, one chunk in memory at a
// time, and checks their numbers and sizes.
func (c *DomainCheck) blobs(ctx context.Context) error {
	type blob struct {
		Seq       int64  `db:"seq"`
		SHA       string `db:"sha256"`
		Size      int64  `db:"size"`
		ChunkSize int64  `db:"chunk_size"`
	}
	var blobs []blob
	if err := c.Tx.Select(ctx, &blobs, c.SQL.VerifyBlobs); err != nil {
		return err
	}
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "blob " + b.SHA
		h := sha256.New()
		var size, next int64
		var problem string
		err := c.Rows(ctx, c.SQL.VerifyBlobChunks, []any{b.Seq}, func(rows *sql.Rows) error {
			var idx int64
			var data []byte
			if err := rows.Scan(&idx, &data); err != nil {
				return err
			}
			switch {
			case problem != "":
			case idx != next:
				problem = fmt.Sprintf("chunk %d is missing", next)
			case int64(len(data)) > b.ChunkSize || (int64(len(data)) < b.ChunkSize && size+int64(len(data)) < b.Size):
				problem = fmt.Sprintf("chunk %d has %d bytes; chunks are %d bytes but the last", idx, len(data), b.ChunkSize)
			}
			next = idx + 1
			h.Write(data)
			size += int64(len(data))
			c.Advance(int64(len(data)))
			return nil
		})
		if err != nil {
			return err
		}
		sum := hex.EncodeToString(h.Sum(nil))
		switch {
		case problem != "":
		case size != b.Size:
			problem = fmt.Sprintf("holds %d bytes, recorded %d", size, b.Size)
		case sum != b.SHA:
			problem = fmt.Sprintf("the SHA-256 of its bytes is %s", sum)
		}
		if problem != "" {
			if err := c.blobProblem(ctx, b.Seq, what, problem); err != nil {
				return err
			}
		}
		c.Report.Blobs++
		c.Report.Bytes += size
	}
	return nil
}

// maxHitsInDetail is how many artifacts the detail of a blob problem names;
// Hits has them all.
const maxHitsInDetail = 10

// blobProblem reports the damaged blob seq with the artifacts that use it.
func (c *DomainCheck) blobProblem(ctx context.Context, seq int64, what, problem string) error {
	var hits []Hit
	err := c.Rows(ctx, c.SQL.VerifyBlobHits, []any{seq}, func(rows *sql.Rows) error {
		var h Hit
		var typ, name string
		var version, pVersion sql.NullInt64
		var pType, pName sql.NullString
		if err := rows.Scan(&h.ArtifactID, &h.Artifact, &h.ResourceID, &typ, &name, &version, &pType, &pName, &pVersion); err != nil {
			return err
		}
		switch {
		case version.Valid:
			h.ResourceRef = fmt.Sprintf("%s/%s@%d", typ, name, version.Int64)
		case name != "" && pType.Valid && pVersion.Valid:
			// Not a chain member: unique under its parent, as Ref says it.
			h.ResourceRef = fmt.Sprintf("%s/%s@%d/%s/%s", pType.String, pName.String, pVersion.Int64, typ, name)
		case name != "" && pType.Valid:
			h.ResourceRef = pType.String + "/" + pName.String + "/" + typ + "/" + name
		case name != "":
			h.ResourceRef = typ + "/" + name
		default:
			h.ResourceRef = typ + "/" + h.ResourceID
		}
		hits = append(hits, h)
		return nil
	})
	if err != nil {
		return err
	}
	detail := problem
	if len(hits) == 0 {
		detail += "; no artifact uses it (gc removes it)"
	} else {
		names := make([]string, 0, min(len(hits), maxHitsInDetail))
		for _, h := range hits[:min(len(hits), maxHitsInDetail)] {
			names = append(names, h.String())
		}
		detail += "; it breaks " + strings.Join(names, ", ")
		if len(hits) > maxHitsInDetail {
			detail += fmt.Sprintf(" and %d more", len(hits)-maxHitsInDetail)
		}
	}
	if len(c.Report.Problems) >= MaxProblems {
		c.Report.Omitted++
		return nil
	}
	c.Report.Problems = append(c.Report.Problems, Problem{Kind: ProblemBlob, What: what, Detail: detail, Hits: hits})
	return nil
}

// attrValues checks that the index of attributes (attr_values, kept by
// the engine's trigger) holds exactly the top-level keys of every
// resource's attrs, with their values.
func (c *DomainCheck) attrValues(ctx context.Context) error {
	return c.Rows(ctx, c.SQL.VerifyAttrValues, nil, func(rows *sql.Rows) error {
		var id, key, state string
		if err := rows.Scan(&id, &key, &state); err != nil {
			return err
		}
		what := "attribute " + strconv.Quote(key) + " of resource " + id
		switch state {
		case "missing":
			c.Report.Add(ProblemAttrIndex, what, "is in the resource's attrs but not in its index (attr_values)")
		case "extra":
			c.Report.Add(ProblemAttrIndex, what, "is in the index (attr_values) but not in the resource's attrs")
		default:
			c.Report.Add(ProblemAttrIndex, what, "its value in the index (attr_values) differs from the resource's attrs")
		}
		return nil
	})
}

// history checks the change log: every entry has an id, by which imports
// and merges recognise it. (A resource may lack its "created" entry: a
// filtered export holds the earlier versions of a chain as bare records.)
func (c *DomainCheck) history(ctx context.Context) error {
	return c.Rows(ctx, c.SQL.VerifyHistoryIDs, nil, func(rows *sql.Rows) error {
		var seq int64
		var res string
		if err := rows.Scan(&seq, &res); err != nil {
			return err
		}
		c.Report.Add(ProblemHistory, "history entry #"+strconv.FormatInt(seq, 10)+" of resource "+res, "has no id")
		return nil
	})
}
