// Command report runs the scale benchmarks of package benchmarks at one or
// more scales and writes their results, beside their baselines and the
// targets, as a Markdown table:
//
//	go run ./benchmarks/report                       # 10k and 100k into benchmarks/RESULTS.md
//	go run ./benchmarks/report -scale 10k,100k,1m    # 1m adds about ten minutes, on SQLite alone (-postgres.scales)
//	go run ./benchmarks/report -scale 10k -bench 'Lookup|Point' -out /dev/stdout
//	go run ./benchmarks/report -engines postgres -bench PG  # PostgreSQL's rows alone
//
// Each scale runs as one `go test -bench` process, so the fixture is built
// once per scale. Run it from the module root.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
