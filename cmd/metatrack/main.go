// Command metatrack inspects and demonstrates a metatrack database. Run
// "metatrack --help" for its commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	// The PostgreSQL engine registers itself for postgres:// and
	// postgresql:// URLs, so that --db and METATRACK_URL reach it.
	_ "github.com/metatrack/metatrack/storage/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
