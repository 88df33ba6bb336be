package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
)

// Export writes the server's export (all of it, or what filter selects;
// "" for all) to w, streamed, and returns its counts. It needs an admin
// token.
func (c *Client) Export(ctx context.Context, w io.Writer, filter string) (metatrack.TransferStats, error) {
	return c.export(ctx, w, filter, true)
}

// ExportWithoutLineage is Export without the lineage edges, as the
// library's WithoutLineage.
func (c *Client) ExportWithoutLineage(ctx context.Context, w io.Writer, filter string) (metatrack.TransferStats, error) {
	return c.export(ctx, w, filter, false)
}

func (c *Client) export(ctx context.Context, w io.Writer, filter string, lineage bool) (metatrack.TransferStats, error) {
	var st metatrack.TransferStats
	if err := c.checkOpen(); err != nil {
		return st, err
	}
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	if !lineage {
		q.Set("lineage", "false")
	}
	res, err := c.do(ctx, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/export?"+q.Encode(), nil)
	})
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return st, responseError(res)
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return st, fmt.Errorf("metatrack server %s: reading the export: %w", c.base, err)
	}
	if t := res.Trailer.Get(api.TrailerError); t != "" {
		var d api.ErrorDetail
		json.Unmarshal([]byte(t), &d)
		return st, d.Err(res.StatusCode)
	}
	if err := json.Unmarshal([]byte(res.Trailer.Get("Metatrack-Stats")), &st); err != nil {
		return st, fmt.Errorf("metatrack server %s: the export ended without its counts: %w", c.base, err)
	}
	return st, nil
}

// Import sends the export read from r to the server, which imports it
// atomically. It needs an admin token. When r is an io.Seeker (a file),
// Import retries after connection failures as writes do, sending r again
// from where it started with the same idempotency key: an import applied
// twice changes nothing the first did not, and the retry gets the first
// one's counts. Any other r is read once and not retried.
func (c *Client) Import(ctx context.Context, r io.Reader, dryRun bool) (metatrack.TransferStats, error) {
	var st metatrack.TransferStats
	if err := c.checkOpen(); err != nil {
		return st, err
	}
	target := c.base + "/api/v1/import"
	if dryRun {
		target += "?dry_run=true"
	}
	seeker, retry := r.(io.Seeker)
	var start int64
	if retry {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			retry = false
		}
	}
	tries := 0
	res, err := c.doRetry(ctx, retry, func() (*http.Request, error) {
		if tries++; tries > 1 {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return nil, fmt.Errorf("import: rewinding the export to send it again: %w", err)
			}
		}
		// NopCloser: the transport closes a body it is done with; r is the
		// caller's to close, and a retry reads it again.
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, io.NopCloser(r))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-ndjson")
		}
		return req, err
	})
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return st, responseError(res)
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("metatrack server %s: decoding the import's counts: %w", c.base, err)
	}
	return st, nil
}
