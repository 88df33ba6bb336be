package remote

import (
	"context"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
)

var _ metatrack.Store = (*Client)(nil)

// DeleteResources deletes each of rs in one transaction of the server:
// all or none.
func (c *Client) DeleteResources(ctx context.Context, rs []res) ([][]res, error) {
	return get[[][]res](ctx, c, "DeleteResources", api.ResList{Resources: keys(rs)})
}

// RestoreResources restores each of rs in one transaction of the server:
// all or none.
func (c *Client) RestoreResources(ctx context.Context, rs []res) ([][]res, error) {
	return get[[][]res](ctx, c, "RestoreResources", api.ResList{Resources: keys(rs)})
}

// Tokens lists the server's API tokens (never their secrets). It needs an
// admin token.
func (c *Client) Tokens(ctx context.Context) ([]metatrack.Token, error) {
	return get[[]metatrack.Token](ctx, c, "Tokens", api.Empty{})
}
