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
// atomically. It needs an admin token. r is read once: Import is not
// retried.
func (c *Client) Import(ctx context.Context, r io.Reader, dryRun bool) (metatrack.TransferStats, error) {
	var st metatrack.TransferStats
	if err := c.checkOpen(); err != nil {
		return st, err
	}
	target := c.base + "/api/v1/import"
	if dryRun {
		target += "?dry_run=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, r)
	if err != nil {
		return st, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return st, fmt.Errorf("metatrack server %s: %w", c.base, err)
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
