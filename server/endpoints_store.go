package server

import (
	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
)

// storeEndpoints are the operations of metatrack.Store beyond one
// resource at a time, and the token listing an admin reads.
func storeEndpoints() []Endpoint {
	return []Endpoint{
		rpc("DeleteResources", RoleWrite, "Deletes resources, each as DeleteResource does, in one transaction: all or none.", func(ctx ctxT, tr trT, q api.ResList) ([][]resT, error) {
			return tr.DeleteResources(ctx, resList(q.Resources))
		}),
		rpc("RestoreResources", RoleWrite, "Restores deleted resources, each as RestoreResource does, in one transaction: all or none.", func(ctx ctxT, tr trT, q api.ResList) ([][]resT, error) {
			return tr.RestoreResources(ctx, resList(q.Resources))
		}),
		rpc("Tokens", RoleAdmin, "Lists the server's API tokens, revoked ones too, oldest first (never their secrets).", func(ctx ctxT, tr trT, q api.Empty) ([]metatrack.Token, error) {
			return tr.Tokens(ctx)
		}),
	}
}
