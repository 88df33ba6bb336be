package postgres_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/metatrack/metatrack"
)

// TestSearchOneRoundTrip counts the round trips between the tracker and
// PostgreSQL, through a proxy that counts each time the client speaks after
// the server did, and requires a search that needs no check first (one
// statement on the engine's Reader, no BEGIN or COMMIT) to take one, once
// pgx knows its statement's description (the first call describes it).
// The least over a few calls is taken: database/sql pings a connection
// that sat idle for a second before it hands it out.
func TestSearchOneRoundTrip(t *testing.T) {
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCountingProxy(t, u.Host)
	u.Host = proxy.addr
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, u.String(), metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := range 30 {
		r, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d"+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.LogTag(ctx, r, "env", "prod"); err != nil {
			t.Fatal(err)
		}
		if err := tr.LogMetadata(ctx, r, "acc", float64(i)/30); err != nil {
			t.Fatal(err)
		}
	}
	for _, filter := range []string{
		"tags.env = 'prod'",
		"metadata.acc > 0.5 ORDER BY metadata.acc DESC",
		"ORDER BY name DESC",
		"type = 'dataset' AND tags.env = 'prod' ORDER BY metadata.acc",
	} {
		least := int64(-1)
		for i := range 4 {
			before := proxy.trips.Load()
			page, err := tr.Search(ctx, filter, metatrack.WithPageSize(10))
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Resources) != 10 || page.Next == "" {
				t.Fatalf("%q: %d resources, next %q; want a full page of 10 and more", filter, len(page.Resources), page.Next)
			}
			if n := proxy.trips.Load() - before; i > 0 && (least < 0 || n < least) {
				least = n
			}
		}
		if least != 1 {
			t.Errorf("%q: a search took %d round trips, want 1", filter, least)
		}
	}
}

// countingProxy forwards TCP connections to a server and counts the round
// trips: the times a client writes after the server last wrote.
type countingProxy struct {
	addr  string
	trips atomic.Int64
}

func newCountingProxy(t *testing.T, upstream string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &countingProxy{addr: ln.Addr().String()}
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", upstream)
			if err != nil {
				client.Close()
				continue
			}
			t.Cleanup(func() { client.Close(); server.Close() })
			var mu sync.Mutex
			serverSpoke := true
			pipe := func(from, to net.Conn, fromClient bool) {
				defer to.Close()
				buf := make([]byte, 1<<16)
				for {
					n, err := from.Read(buf)
					if n > 0 {
						mu.Lock()
						if fromClient && serverSpoke {
							p.trips.Add(1)
						}
						serverSpoke = !fromClient
						mu.Unlock()
						if _, err := to.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}
			go pipe(client, server, true)
			go pipe(server, client, false)
		}
	}()
	return p
}
