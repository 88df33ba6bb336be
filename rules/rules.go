// Package rules is the rule book of what a metatrack database may hold:
// the limits and forms of names, types, keys, tag values, statuses, JSON
// values, artifact names, kinds, hashes and sizes, and the shape of
// version chains. Every writer checks the same rules by calling these
// functions: the Tracker's API before it writes, and package portable for
// every record an import or merge brings from another file, so that a
// file can never put into a database what the API refuses.
//
// Every error wraps ErrInvalidArgument (metatrack.ErrInvalidArgument is the
// same value) and names what was wrong.
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// ErrInvalidArgument: a value is malformed or not allowed.
var ErrInvalidArgument = errors.New("invalid argument")

// Limits on what is stored, in bytes. Values at a limit are accepted, one
// byte over is refused.
const (
	MaxNameBytes     = 512
	MaxKeyBytes      = 256
	MaxTagValueBytes = 64 << 10
	MaxMetadataBytes = 16 << 20
	MaxStatusBytes   = 64
	// MaxURIBytes bounds an external artifact's URI and source path.
	MaxURIBytes = 64 << 10
	// MaxHistoryValueBytes bounds one value of a change-log entry: the
	// record of a new resource holds its attributes (up to
	// MaxMetadataBytes) beside its other fields.
	MaxHistoryValueBytes = MaxMetadataBytes + 64<<10
	// MaxRunErrorBytes bounds the error text of a failed run.
	MaxRunErrorBytes = MaxMetadataBytes
)

// Artifact kinds.
const (
	KindArtifact       = "artifact"
	KindDataProfile    = "data_profile"
	KindChecks         = "checks"
	KindDataComparison = "data_comparison"
)

// Run statuses.
const (
	RunRunning  = "RUNNING"
	RunFinished = "FINISHED"
	RunFailed   = "FAILED"
)

// Relations with a fixed meaning.
const (
	RelationVersion           = "version"
	RelationChild             = "child"
	RelationInput             = "input"
	RelationWinningExperiment = "winning_experiment"
)

// Resource types the rules treat specially.
const (
	TypeModel        = "model"
	TypeModelVersion = "model_version"
	TypeExperiment   = "experiment"
	TypeSweep        = "sweep"
)

var wordPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Text checks a stored string: valid UTF-8, no NUL byte, at most limit
// bytes, and not empty unless allowEmpty. what names it in the error.
func Text(what, s string, limit int, allowEmpty bool) error {
	switch {
	case s == "" && !allowEmpty:
		return fmt.Errorf("%w: %s is empty", ErrInvalidArgument, what)
	case len(s) > limit:
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrInvalidArgument, what, len(s), limit)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalidArgument, what, s)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s %q contains a NUL byte", ErrInvalidArgument, what, s)
	}
	return nil
}

// Type checks a resource type: lower-case letters, digits and _, at most
// 64, starting with a letter.
func Type(typ string) error {
	if typ == "" {
		return fmt.Errorf("%w: resource type is empty", ErrInvalidArgument)
	}
	if !wordPattern.MatchString(typ) {
		return fmt.Errorf("%w: resource type %q must be lower-case letters, digits and _ (at most 64), starting with a letter", ErrInvalidArgument, typ)
	}
	return nil
}

// Word checks a relation, check type or change kind: the form of a type.
func Word(what, s string) error {
	if !wordPattern.MatchString(s) {
		return fmt.Errorf("%w: %s %q must be lower-case letters, digits and _ (at most 64), starting with a letter", ErrInvalidArgument, what, s)
	}
	return nil
}

// ChainHead returns the type that heads chains of typ (dataset for
// dataset_version) and whether typ is a chain type at all.
func ChainHead(typ string) (string, bool) {
	head, ok := strings.CutSuffix(typ, "_version")
	return head, ok && head != ""
}

// NeedsModelVersionParent reports whether typ hangs under a model version.
func NeedsModelVersionParent(typ string) bool {
	return typ == TypeExperiment || typ == "promotion" || typ == "prediction_job"
}

// ParentAllowed reports whether a resource of type typ may hang under a
// parent of type parentType: experiments, promotions and prediction jobs
// under a model version, an experiment also under a sweep; other types
// under anything.
func ParentAllowed(typ, parentType string) bool {
	if !NeedsModelVersionParent(typ) {
		return true
	}
	return parentType == TypeModelVersion || typ == TypeExperiment && parentType == TypeSweep
}

// CutVersion splits name@N or name@latest; ok is false for any other
// string, @ included elsewhere.
func CutVersion(s string) (name, version string, ok bool) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return s, "", false
	}
	v := s[i+1:]
	if v == "latest" || (v != "" && strings.Trim(v, "0123456789") == "") {
		return s[:i], v, true
	}
	return s, "", false
}

// Name checks the name of a resource of type typ. A chain member's name
// (the name of its chain) may not end in @N or @latest, which references
// would read as a version.
func Name(typ, name string) error {
	if err := Text(typ+" name", name, MaxNameBytes, false); err != nil {
		return err
	}
	if _, ok := ChainHead(typ); ok {
		if _, v, ok := CutVersion(name); ok {
			return fmt.Errorf("%w: %s name %q ends in @%s, which references would read as a version", ErrInvalidArgument, typ, name, v)
		}
	}
	return nil
}

// Status checks a resource status (may be empty).
func Status(s string) error { return Text("status", s, MaxStatusBytes, true) }

// Key checks a tag, metadata, attribute or version-control key; what is
// "tag key" and so on. A version-control key may be empty.
func Key(what, k string) error {
	return Text(what, k, MaxKeyBytes, what == "version-control key")
}

// Alias checks the name of an alias (champion, staging): like a key (valid
// UTF-8, no NUL, at most MaxKeyBytes), and not a version number or
// "latest", with no '@', '/', white space or control character, which
// references (model_version/m@champion) could not carry.
func Alias(name string) error {
	if err := Text("alias name", name, MaxKeyBytes, false); err != nil {
		return err
	}
	switch {
	case name == "latest":
		return fmt.Errorf("%w: alias name %q is reserved: type/name@latest is the chain's newest version", ErrInvalidArgument, name)
	case strings.Trim(name, "0123456789") == "":
		return fmt.Errorf("%w: alias name %q is a number, which references read as a version", ErrInvalidArgument, name)
	case strings.ContainsAny(name, "@/"):
		return fmt.Errorf("%w: alias name %q contains '@' or '/', which references cannot carry", ErrInvalidArgument, name)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("%w: alias name %q contains white space or a control character", ErrInvalidArgument, name)
	}
	return nil
}

// TagValue checks a tag's value.
func TagValue(v string) error { return Text("tag value", v, MaxTagValueBytes, true) }

// Environment checks a deployment environment.
func Environment(env string) error { return Text("environment", env, MaxKeyBytes, false) }

// RunName checks a run's name.
func RunName(name string) error { return Text("run name", name, MaxNameBytes, false) }

// Run checks the fields of a run record other than its name.
func Run(host, user, status, errText string) error {
	if err := Text("run host", host, MaxNameBytes, true); err != nil {
		return err
	}
	if err := Text("run user", user, MaxNameBytes, true); err != nil {
		return err
	}
	switch status {
	case RunRunning, RunFinished, RunFailed:
	default:
		return fmt.Errorf("%w: run status %q is none of %s, %s, %s", ErrInvalidArgument, status, RunRunning, RunFinished, RunFailed)
	}
	return Text("run error", errText, MaxRunErrorBytes, true)
}

// ID checks the id of a run, resource, artifact or deployment: a UUID in
// its canonical lower-case form, as the library generates them.
func ID(what, id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return fmt.Errorf("%w: %s id %q is not a lower-case UUID", ErrInvalidArgument, what, id)
	}
	return nil
}

// HistoryID checks the id of a change-log entry: a UUID, or the 32 hex
// digits that migration 0002 gave entries older than it.
func HistoryID(id string) error {
	if len(id) == 32 && strings.Trim(id, "0123456789abcdef") == "" {
		return nil
	}
	return ID("history entry", id)
}

// ArtifactName accepts a clean, relative, slash-separated path: no empty,
// "." or ".." element, no leading slash, no backslash, no NUL, at most
// MaxNameBytes. The rules are the same on every operating system, so a
// name accepted on one machine means the same path on another.
func ArtifactName(name string) error {
	if err := Text("artifact name", name, MaxNameBytes, false); err != nil {
		return err
	}
	if name == "." || strings.ContainsRune(name, '\\') || path.IsAbs(name) || path.Clean(name) != name || !fs.ValidPath(name) {
		return fmt.Errorf("%w: artifact name %q must be a relative path without . or .. elements", ErrInvalidArgument, name)
	}
	return nil
}

// ArtifactKind checks an artifact's kind and check type: a checks report
// has a check type of the form of a type, the other kinds none.
func ArtifactKind(kind, checkType string) error {
	switch kind {
	case KindChecks:
		if err := Word("check type", checkType); err != nil {
			return err
		}
		return nil
	case KindArtifact, KindDataProfile, KindDataComparison:
	default:
		return fmt.Errorf("%w: artifact kind %q is none of %s, %s, %s, %s", ErrInvalidArgument, kind,
			KindArtifact, KindDataProfile, KindChecks, KindDataComparison)
	}
	if checkType != "" {
		return fmt.Errorf("%w: an artifact of kind %s has no check type (%q)", ErrInvalidArgument, kind, checkType)
	}
	return nil
}

// SHA256 checks a SHA-256 in its stored form: 64 lower-case hex digits.
func SHA256(s string) error {
	if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
		return fmt.Errorf("%w: %q is not a lower-case hex SHA-256", ErrInvalidArgument, s)
	}
	return nil
}

// Artifact checks what an artifact record holds beside its name and kind:
// its size, hash (empty only for an external artifact recorded without
// one), media type, URI and source path. stored tells whether its bytes
// are in the database (then uri is empty) or it is external (then uri is
// set).
func Artifact(stored bool, size int64, sha, mediaType, uri, sourcePath string) error {
	if size < 0 {
		return fmt.Errorf("%w: artifact size %d is negative", ErrInvalidArgument, size)
	}
	if sha != "" || stored {
		if err := SHA256(sha); err != nil {
			return err
		}
	}
	if stored == (uri != "") {
		if stored {
			return fmt.Errorf("%w: an artifact has stored bytes or a URI, not both", ErrInvalidArgument)
		}
		return fmt.Errorf("%w: an artifact has neither stored bytes nor a URI", ErrInvalidArgument)
	}
	if err := Text("media type", mediaType, MaxKeyBytes, true); err != nil {
		return err
	}
	if err := Text("artifact URI", uri, MaxURIBytes, true); err != nil {
		return err
	}
	return Text("artifact source path", sourcePath, MaxURIBytes, true)
}

// Relation checks the relation of an edge that Link records: a
// well-formed name that is not one of the relations the tracker records
// itself.
func Relation(relation string) error {
	switch relation {
	case RelationVersion, RelationChild:
		return fmt.Errorf("%w: relation %q is recorded by the tracker from a resource's parent; Link takes %s or a relation of your own", ErrInvalidArgument, relation, RelationInput)
	case RelationWinningExperiment:
		return fmt.Errorf("%w: relation %q is set with SetWinningExperiment; Link takes %s or a relation of your own", ErrInvalidArgument, relation, RelationInput)
	}
	if !wordPattern.MatchString(relation) {
		return fmt.Errorf("%w: unknown relation %q: valid are %s or a name of your own of lower-case letters, digits and _ (at most 64), starting with a letter, such as derived_from",
			ErrInvalidArgument, relation, RelationInput)
	}
	return nil
}

// JSON checks a stored JSON value: at most limit bytes, valid UTF-8, valid
// JSON, no string in it that lost its bytes: neither the escape \ufffd
// (what encoding/json writes for an invalid byte; a real U+FFFD is stored
// as itself) nor a lone UTF-16 surrogate escape, and no object that names a
// member twice (see UniqueNames).
func JSON(what string, b []byte, limit int) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: %s is empty", ErrInvalidArgument, what)
	case len(b) > limit:
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrInvalidArgument, what, len(b), limit)
	case !utf8.Valid(b):
		return fmt.Errorf("%w: %s holds a string that is not valid UTF-8", ErrInvalidArgument, what)
	case !json.Valid(b):
		return fmt.Errorf("%w: %s is not valid JSON", ErrInvalidArgument, what)
	}
	if err := Escapes(b); err != nil {
		return fmt.Errorf("%w: %s %v", ErrInvalidArgument, what, err)
	}
	if err := UniqueNames(b); err != nil {
		return fmt.Errorf("%w: %s %v", ErrInvalidArgument, what, err)
	}
	return nil
}

// UniqueNames checks that no object in the JSON text b names a member
// twice, as I-JSON (RFC 7493) requires: of {"a":1,"a":2} SQLite's
// json_extract reads the first a, PostgreSQL's jsonb and Go's decoder the
// last, so a query would answer otherwise than a read, and one engine
// otherwise than the other. Its error names the member and where its
// object is (a JSON pointer).
func UniqueNames(b []byte) error {
	if !bytes.Contains(b, []byte{'{'}) {
		return nil
	}
	if _, err := jsontext.NewDecoder(bytes.NewReader(b)).ReadValue(); err != nil {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return fmt.Errorf("names a member twice: %s", strings.TrimPrefix(err.Error(), "jsontext: "))
		}
		return fmt.Errorf("is not valid JSON: %s", strings.TrimPrefix(err.Error(), "jsontext: "))
	}
	return nil
}

// Escapes checks the \u escapes of JSON text b: no \ufffd (a replaced
// invalid byte) and no UTF-16 surrogate without its partner. Its error
// says which, and where (a byte offset).
func Escapes(b []byte) error {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 < len(b) && b[i+1] == 'u' && i+6 <= len(b) {
			r := hex4(b[i+2 : i+6])
			switch {
			case r == 0xfffd:
				return fmt.Errorf("holds a string that is not valid UTF-8 (the escape \\ufffd at byte %d)", i)
			case r >= 0xd800 && r < 0xdc00:
				if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return fmt.Errorf("holds a lone UTF-16 surrogate at byte %d", i)
				}
				if lo := hex4(b[i+8 : i+12]); lo < 0xdc00 || lo >= 0xe000 {
					return fmt.Errorf("holds a lone UTF-16 surrogate at byte %d", i)
				}
				i += 11
				continue
			case r >= 0xdc00 && r < 0xe000:
				return fmt.Errorf("holds a lone UTF-16 surrogate at byte %d", i)
			}
			i += 5
			continue
		}
		i++ // the escaped character
	}
	return nil
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) int {
	n := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return n
}

// Object checks a stored JSON object whose keys are keys of kind what
// ("attribute key", "metadata key"): JSON of at most MaxMetadataBytes, an
// object, every key a valid key. name names the object in errors.
func Object(name, what string, b []byte) error {
	if err := JSON(name, b, MaxMetadataBytes); err != nil {
		return err
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%w: %s must be a JSON object", ErrInvalidArgument, name)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidArgument, name, err)
	}
	for k := range m {
		if what == "version-control info key" {
			// The keys are whatever the version-control component returned.
			continue
		}
		if err := Key(what, k); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Metadata checks a metadata key and its value in stored form (JSON of at
// most MaxMetadataBytes).
func Metadata(key string, value []byte) error {
	if err := Key("metadata key", key); err != nil {
		return err
	}
	return JSON(fmt.Sprintf("metadata %q", key), value, MaxMetadataBytes)
}

// VCInfo checks a version-control record in stored form: info is a JSON
// object with at least one entry, extra a JSON object of metadata (its
// keys metadata keys), each at most MaxMetadataBytes.
func VCInfo(info, extra []byte) error {
	if err := Object("version-control info", "version-control info key", info); err != nil {
		return err
	}
	if t := bytes.TrimSpace(info); len(t) >= 2 && len(bytes.TrimSpace(t[1:len(t)-1])) == 0 {
		return fmt.Errorf("%w: version-control info is empty", ErrInvalidArgument)
	}
	return Object("additional metadata of a version-control record", "metadata key", extra)
}

// ChainNumbers checks the sorted version numbers of one chain: 1..n, each
// once. The error says which numbers are missing or doubled.
func ChainNumbers(versions []int64) error {
	var missing, dup []string
	want := int64(1)
	for i, n := range versions {
		if i > 0 && n == versions[i-1] {
			dup = append(dup, fmt.Sprint(n))
			continue
		}
		for ; want < n && len(missing) < 20; want++ {
			missing = append(missing, fmt.Sprint(want))
		}
		want = n + 1
	}
	if len(missing) == 0 && len(dup) == 0 {
		return nil
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing version "+strings.Join(missing, ", "))
	}
	if len(dup) > 0 {
		parts = append(parts, "version "+strings.Join(dup, ", ")+" twice")
	}
	return fmt.Errorf("%w: %d members numbered up to %d: %s", ErrInvalidArgument, len(versions), versions[len(versions)-1], strings.Join(parts, "; "))
}

// NotSelf refuses an edge from a resource to itself.
func NotSelf(src, dst string) error {
	if src == dst {
		return fmt.Errorf("%w: an edge from %s to itself", ErrInvalidArgument, src)
	}
	return nil
}

// History checks a change-log entry: its id, the kind of change (the form
// of a type), its key (a key or an artifact name, so at most
// MaxNameBytes) and its values (JSON, when set).
func History(id, change, key string, oldV, newV []byte) error {
	if err := HistoryID(id); err != nil {
		return err
	}
	if err := Word("change", change); err != nil {
		return err
	}
	if err := Text("history key", key, MaxNameBytes, true); err != nil {
		return err
	}
	if oldV != nil {
		if err := JSON("old value", oldV, MaxHistoryValueBytes); err != nil {
			return err
		}
	}
	if newV != nil {
		return JSON("new value", newV, MaxHistoryValueBytes)
	}
	return nil
}
