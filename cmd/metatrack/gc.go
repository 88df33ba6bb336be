package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/sqlite"
)

func newGCCmd(a *app) *cobra.Command {
	var (
		dryRun    bool
		vacuum    bool
		stagedAge time.Duration
		purge     bool
		olderThan string
	)
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove artifact bytes that nothing refers to any more",
		Long: `gc removes stored artifact bytes that no artifact record refers to: the old
bytes of artifacts logged again under the same name, and uploads that were
abandoned half-way (a process died while logging a file) longer ago than
--staged-age, so that uploads in progress elsewhere survive. Pipelines may
go on writing meanwhile.

--dry-run only counts what would go, and opens the database read-only.
The freed space is reused by later writes; --vacuum then rebuilds the file
so that it shrinks (it holds the write lock while it runs). A progress bar
shows on stderr when it is a terminal.

--purge-deleted first removes deleted resources for good (those deleted at
least --older-than ago, e.g. 30d; all of them without it), with everything
under them, their artifacts and their history: they can no longer be
restored. The file keeps one record of each purged resource, its parent's
history says it was purged, and its version number is never reused. The
bytes of their artifacts that nothing else uses go in the same run.`,
		Example: `  metatrack gc --db titanic.db --dry-run
  metatrack gc --db titanic.db --vacuum
  metatrack gc --staged-age 1h -o json
  metatrack gc --purge-deleted --older-than 30d --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if stagedAge <= 0 {
				return usageErrorf("--staged-age must be positive, got %s", stagedAge)
			}
			if dryRun && vacuum {
				return usageErrorf("--dry-run and --vacuum contradict each other")
			}
			var age time.Duration
			if olderThan != "" {
				if !purge {
					return usageErrorf("--older-than applies to --purge-deleted")
				}
				var err error
				if age, err = parseAge(olderThan); err != nil {
					return usageErrorf("--older-than: %v", err)
				}
			}
			return a.runGC(cmd.Context(), dryRun, vacuum, stagedAge, purge, age)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "count what would be removed; remove nothing")
	f.BoolVar(&vacuum, "vacuum", false, "then rebuild the file so that it shrinks")
	f.DurationVar(&stagedAge, "staged-age", sqlite.DefaultStagedAge, "remove abandoned uploads begun longer ago than this")
	f.BoolVar(&purge, "purge-deleted", false, "first remove deleted resources for good (no restore after this)")
	f.StringVar(&olderThan, "older-than", "", "with --purge-deleted: only those deleted at least this long ago (30d, 2w, 12h)")
	return cmd
}

// gcJSON is the -o json document of gc.
type gcJSON struct {
	Database   string `json:"database"`
	DryRun     bool   `json:"dry_run"`
	Blobs      int64  `json:"blobs"`
	Staged     int64  `json:"staged"`
	KeptStaged int64  `json:"kept_staged"`
	Chunks     int64  `json:"chunks"`
	Bytes      int64  `json:"bytes"`
	FreeBytes  int64  `json:"free_bytes"`
	// MetricBlocks counts the small metric blocks merged into fuller ones,
	// of MetricSeries series; absent when none.
	MetricBlocks int64 `json:"metric_blocks,omitempty"`
	MetricSeries int64 `json:"metric_series,omitempty"`
	Vacuumed     bool  `json:"vacuumed"`
	// Purged counts what --purge-deleted removed (or would remove).
	Purged *purgedJSON `json:"purged,omitempty"`
	// SizeBytes is the size of the file at the end.
	SizeBytes int64 `json:"size_bytes"`
}

// purgedJSON is what gc --purge-deleted removed.
type purgedJSON struct {
	Resources int64 `json:"resources"`
	Artifacts int64 `json:"artifacts"`
	Changes   int64 `json:"changes"`
}

// parseAge parses an age such as 30d, 2w, 12h or 90m (a Go duration, or a
// number of days or weeks).
func parseAge(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	switch n := strings.TrimRight(s, "dw"); {
	case len(n) == len(s)-1 && n != "":
		var k int64
		if k, err = strconv.ParseInt(n, 10, 32); err == nil {
			d = time.Duration(k) * 24 * time.Hour
			if strings.HasSuffix(s, "w") {
				d *= 7
			}
		}
	default:
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not an age such as 30d, 2w, 12h or 90m", s)
	}
	return d, nil
}

func (a *app) runGC(ctx context.Context, dryRun, vacuum bool, stagedAge time.Duration, purge bool, age time.Duration) error {
	path, err := a.storePath()
	if err != nil {
		return err
	}
	var out gcJSON
	work := func(t *metatrack.Tracker) error {
		var purged *purgedJSON
		if purge {
			popts := []metatrack.MaintenanceOption{metatrack.WithPurgeOlderThan(age)}
			if dryRun {
				popts = append(popts, metatrack.WithDryRun())
			}
			ps, err := t.PurgeDeleted(ctx, popts...)
			if err != nil {
				return err
			}
			purged = &purgedJSON{Resources: ps.Resources, Artifacts: ps.Artifacts, Changes: ps.Changes}
		}
		bar := a.newProgress("collecting garbage", unitBlobs, 0)
		gopts := []metatrack.MaintenanceOption{metatrack.WithProgress(bar.set), metatrack.WithStagedAge(stagedAge)}
		if dryRun {
			gopts = append(gopts, metatrack.WithDryRun())
		}
		st, err := t.GC(ctx, gopts...)
		bar.done()
		if err != nil {
			return err
		}
		out = gcJSON{Database: path, DryRun: dryRun, Blobs: st.Blobs, Staged: st.Staged, KeptStaged: st.KeptStaged,
			Chunks: st.Chunks, Bytes: st.Bytes, FreeBytes: st.FreeBytes, Purged: purged,
			MetricBlocks: st.MetricBlocks, MetricSeries: st.MetricSeries}
		if vacuum {
			spin := a.newProgress("vacuuming", unitBytes, 0)
			err := t.Vacuum(ctx)
			spin.done()
			if err != nil {
				return err
			}
			out.Vacuumed = true
		}
		if postgres.IsURL(a.dbURL) {
			out.SizeBytes = a.storeSize(ctx, t, path)
		}
		return nil
	}
	if purge && !dryRun {
		// The purge is recorded (parents' history, the purged records)
		// with a run, like the other changes made from the command line.
		err = a.writeFile(ctx, "metatrack gc --purge-deleted", work)
	} else {
		opts := []metatrack.Option{metatrack.WithClock(a.now), metatrack.WithoutRun()}
		if dryRun {
			opts = append(opts, metatrack.WithReadOnly())
		}
		var t *metatrack.Tracker
		t, _, err = a.openExisting(ctx, opts...)
		if err != nil {
			return err
		}
		err = work(t)
		if cerr := t.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if !postgres.IsURL(a.dbURL) {
		out.SizeBytes = fileSize(path)
	}
	if a.json() {
		return a.writeJSON(out)
	}
	printGC(a.stdout, out)
	return nil
}

func printGC(w io.Writer, g gcJSON) {
	verb := "Removed"
	if g.DryRun {
		verb = "Would remove"
	}
	if p := g.Purged; p != nil {
		pverb := "Purged"
		if g.DryRun {
			pverb = "Would purge"
		}
		fmt.Fprintf(w, "%s %s for good, with %s and %s.\n", pverb, plural(int(p.Resources), "deleted resource"),
			plural(int(p.Artifacts), "artifact"), plural(int(p.Changes), "change"))
	}
	fmt.Fprintf(w, "%s %s of artifacts nothing refers to and %s (%s in %s).\n", verb,
		plural(int(g.Blobs), "stored file"), plural(int(g.Staged), "abandoned upload"),
		humanBytes(g.Bytes), plural(int(g.Chunks), "chunk"))
	if g.KeptStaged > 0 {
		fmt.Fprintf(w, "Kept %s younger than --staged-age.\n", plural(int(g.KeptStaged), "upload"))
	}
	if g.MetricBlocks > 0 {
		mverb := "Merged"
		if g.DryRun {
			mverb = "Would merge"
		}
		fmt.Fprintf(w, "%s %s of %s into fuller ones.\n", mverb, plural(int(g.MetricBlocks), "small metric block"),
			fmt.Sprintf("%d series", g.MetricSeries))
	}
	switch {
	case g.Vacuumed:
		fmt.Fprintf(w, "Vacuumed: %s is now %s.\n", g.Database, humanBytes(g.SizeBytes))
	case g.FreeBytes > 0:
		fmt.Fprintf(w, "%s holds %s of free space (%s); --vacuum gives it back to the file system.\n",
			g.Database, humanBytes(g.FreeBytes), humanBytes(g.SizeBytes))
	}
}
