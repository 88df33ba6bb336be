package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Run is the whole command: it parses args, runs the benchmarks and writes
// the report. It returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		scales    = fs.String("scale", "10k,100k", "comma-separated scales to run: 10k, 100k, 1m")
		out       = fs.String("out", "benchmarks/RESULTS.md", "Markdown file to write")
		pkg       = fs.String("pkg", "./benchmarks/", "package of the benchmarks")
		bench     = fs.String("bench", ".", "benchmarks to run (go test -bench)")
		benchtime = fs.String("benchtime", "200ms", "go test -benchtime of each sample")
		count     = fs.Int("count", 1, "go test -count; the report takes the median")
		samples   = fs.Int("samples", 5, "samples of each case, library and baseline in turn (the benchmarks' -samples)")
		timeout   = fs.Duration("timeout", 60*time.Minute, "limit of one scale's go test run")
		fixtures  = fs.String("fixture.dir", "", "keep the generated fixtures in this directory and reuse them")
		pgScales  = fs.String("postgres.scales", "10k,100k", "the scales at which the postgres engine runs: copying the 1m fixture into PostgreSQL takes minutes")
		from      = fs.String("from", "", "comma-separated scale=file pairs: report these saved go test -bench outputs instead of running")
		engines   = fs.String("engines", defaultEngines(), "comma-separated engines of the engine benchmarks: sqlite, postgres "+
			"(the default has postgres when its binaries are found or "+pgEnvURL+" is set)")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./benchmarks/report [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	rep := &Report{Date: time.Now().UTC(), Command: commandLine(args), Machine: machine(ctx), Count: *count, Samples: *samples}
	failed := false
	if *from != "" {
		for _, pair := range strings.Split(*from, ",") {
			s, file, ok := strings.Cut(pair, "=")
			if !ok {
				fmt.Fprintf(stderr, "report: -from wants scale=file, not %q\n", pair)
				return 2
			}
			b, err := os.ReadFile(file)
			if err != nil {
				fmt.Fprintln(stderr, "report:", err)
				return 1
			}
			sr := Parse(strings.ToLower(strings.TrimSpace(s)), string(b))
			sr.Load = "not recorded (saved output)"
			rep.Scales = append(rep.Scales, sr)
		}
		*scales = ""
	}
	for _, s := range strings.Split(*scales, ",") {
		s = strings.TrimSpace(strings.ToLower(s))
		if s == "" {
			continue
		}
		testArgs := []string{"test", "-run", "^$", "-bench", *bench, "-benchmem", "-benchtime", *benchtime,
			"-count", fmt.Sprint(*count), "-timeout", timeout.String(), *pkg, "-scale=" + s,
			"-samples=" + fmt.Sprint(*samples), "-engines=" + enginesAt(*engines, *pgScales, s)}
		if *fixtures != "" {
			testArgs = append(testArgs, "-fixture.dir="+*fixtures)
		}
		fmt.Fprintf(stderr, "== go %s\n", strings.Join(testArgs, " "))
		start, loadBefore := time.Now(), loadavg()
		var buf bytes.Buffer
		cmd := exec.CommandContext(ctx, "go", testArgs...)
		cmd.Stdout = io.MultiWriter(&buf, stderr)
		cmd.Stderr = io.MultiWriter(&buf, stderr)
		err := cmd.Run()
		sr := Parse(s, buf.String())
		sr.Elapsed = time.Since(start)
		sr.Load = loadBefore + " before, " + loadavg() + " after"
		if err != nil {
			sr.Err = err.Error()
			failed = true
		}
		rep.Scales = append(rep.Scales, sr)
		if ctx.Err() != nil {
			break
		}
	}
	var md bytes.Buffer
	rep.Markdown(&md)
	if *out == "-" {
		stdout.Write(md.Bytes())
	} else if err := os.WriteFile(*out, md.Bytes(), 0o644); err != nil {
		fmt.Fprintln(stderr, "report:", err)
		return 1
	} else {
		fmt.Fprintf(stderr, "== wrote %s\n", *out)
	}
	if failed {
		return 1
	}
	return 0
}

// enginesAt is engines without postgres when scale is not one of
// pgScales.
func enginesAt(engines, pgScales, scale string) string {
	for _, s := range strings.Split(pgScales, ",") {
		if strings.EqualFold(strings.TrimSpace(s), scale) {
			return engines
		}
	}
	var out []string
	for _, e := range strings.Split(engines, ",") {
		if e = strings.TrimSpace(e); e != "postgres" && e != "" {
			out = append(out, e)
		}
	}
	return strings.Join(out, ",")
}

// pgEnvURL names the variable that points the benchmarks at a PostgreSQL
// server (pgtest.EnvURL).
const pgEnvURL = "METATRACK_TEST_POSTGRES_URL"

// defaultEngines is sqlite, and postgres when the benchmarks can reach
// one: a server named by pgEnvURL, or initdb on PATH or in Debian's
// /usr/lib/postgresql/<version>/bin, from which pgtest starts its own.
func defaultEngines() string {
	if os.Getenv(pgEnvURL) != "" {
		return "sqlite,postgres"
	}
	if _, err := exec.LookPath("initdb"); err == nil {
		return "sqlite,postgres"
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return "sqlite,postgres"
	}
	return "sqlite"
}

// loadavg returns the 1, 5 and 15 minute load averages: other processes
// on the machine skew the figures.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// commandLine is how the report was made, for its header.
func commandLine(args []string) string {
	s := "go run ./benchmarks/report"
	for _, a := range args {
		if strings.ContainsAny(a, " |*'\"") {
			a = "'" + a + "'"
		}
		s += " " + a
	}
	return s
}
