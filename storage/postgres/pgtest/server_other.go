//go:build !linux

package pgtest

// local is empty where pgtest cannot start a server.
type local struct{}

func startServer() (*server, error) { return nil, errUnsupported }
func (s *server) stop(string) error { return errUnsupported }
func (s *server) start() error      { return errUnsupported }
func (s *server) shutdown() error   { return nil }
