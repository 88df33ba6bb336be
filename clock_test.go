//go:build unix

package metatrack_test

// Clock skew: two processes whose clocks are two days apart (one a day
// behind, one a day ahead, through WithClock) take turns appending versions
// to the same chains of one file. Chain order and "latest" must follow the
// database's own sequence, never the recorded times.
//
// The default size (2 x 25 turns) takes about a second. The full size
// (2 x 500 turns):
//
//	METATRACK_SOAK=1 go test -run 'TestClock' -timeout 60m -v .

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

const (
	clockTurnsQuick = 25
	clockTurnsSoak  = 500
	clockChain      = "skewed"       // the dataset_version chain both processes append to
	clockModel      = "skewed-model" // the model_version chain both processes append to
)

// clockOffsets are the children's clock offsets: child 0 runs a day ahead,
// child 1 a day behind, and child 1 makes the last turn.
var clockOffsets = []time.Duration{24 * time.Hour, -24 * time.Hour}

// clockChild is the clock child: with its clock off by METATRACK_CHAOS_ARG
// (a duration), it makes METATRACK_CHAOS_TXS turns; turns alternate between
// the two children, child 0 first. It waits for its turn by reading the
// chain's latest version, then in one Batch appends a dataset version and a
// model version and creates an experiment under the model version, and
// prints the three creates.
func clockChild(ctx context.Context, enc *json.Encoder) error {
	id, err := procEnvInt(chaosIDEnv)
	if err != nil {
		return err
	}
	turns, err := procEnvInt(chaosTxsEnv)
	if err != nil {
		return err
	}
	offset, err := time.ParseDuration(os.Getenv(chaosArgEnv))
	if err != nil {
		return err
	}
	tr, err := metatrack.Open(ctx, os.Getenv(chaosDBEnv), metatrack.WithRunName(fmt.Sprintf("clock-%d", id)),
		metatrack.WithClock(func() time.Time { return time.Now().Add(offset) }))
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := procBarrier(); err != nil {
		return err
	}
	for turn := range turns {
		before := 2*turn + id // versions created before this turn
		for {
			latest, err := tr.GetResource(ctx, metatrack.TypeDatasetVersion+"/"+clockChain, "")
			n := latest.Version
			if errors.Is(err, metatrack.ErrNotFound) {
				n, err = 0, nil
			}
			if err != nil {
				return err
			}
			if n == before {
				break
			}
			if n > before {
				return fmt.Errorf("turn %d: the chain holds %d versions, more than the %d before this turn", turn, n, before)
			}
			time.Sleep(100 * time.Microsecond)
		}
		var dv, mv, exp metatrack.Resource
		err := tr.Batch(ctx, func(tx *metatrack.Tracker) (err error) {
			if dv, err = tx.CreateResource(ctx, metatrack.TypeDatasetVersion, clockChain); err != nil {
				return err
			}
			if mv, err = tx.CreateResource(ctx, metatrack.TypeModelVersion, clockModel); err != nil {
				return err
			}
			exp, err = tx.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))
			return err
		})
		if err != nil {
			return fmt.Errorf("turn %d: %w", turn, err)
		}
		for _, r := range []metatrack.Resource{dv, mv, exp} {
			rec := chaosRecord{Kind: "create", Proc: id, Seq: turn, Res: r.ID, Src: r.ParentID, Type: r.Type, Name: r.Name,
				Version: r.Version, Value: r.CreatedAt.Format(time.RFC3339Nano)}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
	}
	return tr.Close()
}

// TestClockSkewTwoProcesses runs two clock children (see clockChild), one
// with its clock a day ahead, one a day behind, taking turns on one file.
// The recorded creation times then jump back and forth by two days along
// each chain (checked, so that the test tests something), and the last
// version has not the latest time. Yet each chain must be numbered in the
// order of the turns, "latest" (GetResource of type/name, type/name@latest
// and a bare name with its type) must be the last version created, the
// previous version of each (GetPrevResourceVersion) the one created before
// it, and GetLatestModelResource must return the last model version and the
// last experiment created.
func TestClockSkewTwoProcesses(t *testing.T) {
	turns := clockTurnsQuick
	if procSoak() {
		turns = clockTurnsSoak
	}
	ctx := procContext(t)
	path := filepath.Join(t.TempDir(), "clock.db")
	chaosNewFile(t, ctx, path)
	g := chaosStart(t, ctx, len(clockOffsets), "clock", func(i int) []string {
		return []string{chaosDBEnv + "=" + path, chaosTxsEnv + "=" + strconv.Itoa(turns), chaosArgEnv + "=" + clockOffsets[i].String()}
	})
	g.waitReady(t)
	start := time.Now()
	g.release()
	g.wait(t)
	elapsed := time.Since(start)
	g.checkLines(t)
	if t.Failed() {
		t.FailNow()
	}
	byID := map[string]chaosRecord{}
	expOf := map[string]string{} // model version id -> its experiment's id
	for _, r := range g.snapshot() {
		byID[r.Res] = r
		if r.Type == metatrack.TypeExperiment {
			expOf[r.Src] = r.Res
		}
	}
	n := len(clockOffsets) * turns

	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	chains := map[string][]metatrack.Resource{}
	for _, head := range []metatrack.Resource{
		{Type: metatrack.TypeDataset, Name: clockChain},
		{Type: metatrack.TypeModel, Name: clockModel},
	} {
		versions, err := tr.Versions(ctx, head)
		if err != nil {
			t.Fatal(err)
		}
		chains[head.Type] = versions
		if len(versions) != n {
			t.Fatalf("%s holds %d versions, want %d", head.Ref(), len(versions), n)
		}
		backwards, newest := 0, 0
		for i, v := range versions {
			// Turn i was process i%2's.
			if r, ok := byID[v.ID]; !ok || r.Proc != i%2 || r.Version != i+1 {
				t.Errorf("%s: version %d (%s) was acknowledged as %+v; want version %d by process %d", head.Ref(), v.Version, v.ID, r, i+1, i%2)
			}
			if i > 0 {
				if v.CreatedAt.Before(versions[i-1].CreatedAt) {
					backwards++
				}
				prev, err := tr.GetPrevResourceVersion(ctx, v)
				if err != nil || prev.ID != versions[i-1].ID {
					t.Errorf("the version before %s is %s, %v; want %s", v.Ref(), prev.Ref(), err, versions[i-1].Ref())
				}
			}
			if v.CreatedAt.After(versions[newest].CreatedAt) {
				newest = i
			}
		}
		// The test of the test: by the clocks the order would be another.
		if backwards == 0 || newest == n-1 {
			t.Fatalf("%s: creation times go backwards %d times and the newest is version %d of %d: the clocks were not skewed",
				head.Ref(), backwards, newest+1, n)
		}
		t.Logf("%s: %d versions; by creation time the newest is version %d (%s), %d steps go back in time",
			head.Ref(), n, newest+1, versions[newest].CreatedAt.Format(time.RFC3339), backwards)
	}

	lastDV := chains[metatrack.TypeDataset][n-1]
	lastMV := chains[metatrack.TypeModel][n-1]
	for _, c := range []struct{ ref, typ, want string }{
		{metatrack.TypeDatasetVersion + "/" + clockChain, "", lastDV.ID},
		{metatrack.TypeDatasetVersion + "/" + clockChain + "@latest", "", lastDV.ID},
		{clockChain, metatrack.TypeDatasetVersion, lastDV.ID},
		{metatrack.TypeModelVersion + "/" + clockModel, "", lastMV.ID},
		{metatrack.TypeModelVersion + "/" + clockModel + "@latest", "", lastMV.ID},
	} {
		got, err := tr.GetResource(ctx, c.ref, c.typ)
		if err != nil || got.ID != c.want {
			t.Errorf("GetResource(%q, %q) = %s (%s), %v; want the last version created, %s", c.ref, c.typ, got.Ref(), got.ID, err, c.want)
		}
	}
	model := metatrack.Resource{Type: metatrack.TypeModel, Name: clockModel}
	for _, arg := range []metatrack.Resource{model, chains[metatrack.TypeModel][0]} {
		if got, err := tr.GetLatestModelResource(ctx, arg, metatrack.TypeModelVersion); err != nil || got.ID != lastMV.ID {
			t.Errorf("GetLatestModelResource(%s, model_version) = %s, %v; want %s", arg.Ref(), got.Ref(), err, lastMV.Ref())
		}
		if got, err := tr.GetLatestModelResource(ctx, arg, metatrack.TypeExperiment); err != nil || got.ID != expOf[lastMV.ID] {
			t.Errorf("GetLatestModelResource(%s, experiment) = %s (%s), %v; want the experiment of %s, %s",
				arg.Ref(), got.Ref(), got.ID, err, lastMV.Ref(), expOf[lastMV.ID])
		}
	}
	t.Logf("2 processes with clocks %v and %v: %d turns in %v", clockOffsets[0], clockOffsets[1], n, elapsed.Round(time.Millisecond))
}
