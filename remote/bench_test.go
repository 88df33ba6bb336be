package remote_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/remote"
)

// The benchmarks compare a call through the server on loopback with the
// same call on the embedded library, next to an empty request's round
// trip, and measure batched metric logging over HTTP:
//
//	go test ./remote -run '^$' -bench . -benchtime 2s

func benchTrackers(b *testing.B) (*metatrack.Tracker, *remote.Client, string) {
	tr, url := serve(b)
	c, err := remote.Dial(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	return tr, c, url
}

// BenchmarkEmptyRoundTrip: POST /api/v1/Run, which reads nothing from the
// database: the HTTP and JSON cost of one call.
func BenchmarkEmptyRoundTrip(b *testing.B) {
	_, _, url := benchTrackers(b)
	for b.Loop() {
		res, err := http.Post(url+"/api/v1/Run", "application/json", strings.NewReader("{}"))
		if err != nil {
			b.Fatal(err)
		}
		var buf [4096]byte
		for {
			if _, err := res.Body.Read(buf[:]); err != nil {
				break
			}
		}
		res.Body.Close()
	}
}

func BenchmarkGetTag(b *testing.B) {
	tr, c, _ := benchTrackers(b)
	ctx := context.Background()
	ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		b.Fatal(err)
	}
	if err := tr.LogTag(ctx, ds, "k", "v"); err != nil {
		b.Fatal(err)
	}
	for _, t := range []struct {
		name string
		tr   metatrack.MetadataTracker
	}{{"embedded", tr}, {"remote", c}} {
		b.Run(t.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := t.tr.GetTag(ctx, ds, "k"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLogTag(b *testing.B) {
	tr, c, _ := benchTrackers(b)
	ctx := context.Background()
	ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range []struct {
		name string
		tr   metatrack.MetadataTracker
	}{{"embedded", tr}, {"remote", c}} {
		b.Run(t.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if err := t.tr.LogTag(ctx, ds, "k", fmt.Sprint(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLogMetricsHTTP logs batches of 10,000 points of one series
// through the server and reports points per second.
func BenchmarkLogMetricsHTTP(b *testing.B) {
	tr, c, _ := benchTrackers(b)
	ctx := context.Background()
	ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		b.Fatal(err)
	}
	const batch = 10000
	pts := make([]metatrack.MetricPoint, batch)
	step := int64(0)
	now := time.Now()
	start := time.Now()
	for b.Loop() {
		for i := range pts {
			pts[i] = metatrack.MetricPoint{Step: step, Value: float64(step) * 0.001, Time: now}
			step++
		}
		if err := c.LogMetrics(ctx, ds, "loss", pts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(step)/time.Since(start).Seconds(), "points/s")
}
