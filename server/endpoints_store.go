package server

import (
	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
)

// storeEndpoints are the operations of metatrack.Store beyond one
// resource at a time, and the token listing an admin reads.
func storeEndpoints() []Endpoint {
	// Tokens only reads: it is made as a read, which records no
	// idempotency key (a read-only server serves it), and then limited to
	// admins.
	tokens := rpc("Tokens", RoleRead, "Lists the server's API tokens, revoked ones too, oldest first (never their secrets). Admin tokens only.", func(ctx ctxT, tr trT, q api.Empty) ([]metatrack.Token, error) {
		return tr.Tokens(ctx)
	})
	tokens.Role = RoleAdmin
	return []Endpoint{
		rpc("DeleteResources", RoleWrite, "Deletes resources, each as DeleteResource does, in one transaction: all or none.", func(ctx ctxT, tr trT, q api.ResList) ([][]resT, error) {
			return tr.DeleteResources(ctx, resList(q.Resources))
		}),
		rpc("RestoreResources", RoleWrite, "Restores deleted resources, each as RestoreResource does, in one transaction: all or none.", func(ctx ctxT, tr trT, q api.ResList) ([][]resT, error) {
			return tr.RestoreResources(ctx, resList(q.Resources))
		}),
		tokens,
	}
}
