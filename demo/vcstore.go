package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// VCStore is the demo's stand-in for git or DVC: a content-addressed
// directory where every file is stored under its SHA-256. Put returns the
// same dict shape the framework's version-control components return
// ({"hexsha": ..., "uri": ...}), which the pipelines register with
// RegisterVCResource.
type VCStore struct {
	// Dir holds the stored files, named by their hex SHA-256.
	Dir string
}

// Put copies the file at path into the store and returns its
// version-control info. Putting the same bytes twice stores them once.
func (s VCStore) Put(path string) (map[string]any, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(s.Dir, ".put-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), src); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := filepath.Join(s.Dir, sum)
	if _, err := os.Stat(dst); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp.Name(), dst); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return map[string]any{"hexsha": sum, "uri": dst}, nil
}

// Open returns the bytes that info (as Put returned it, or as GetVCInfo
// reads it back) names: the file at its uri, or else the file of that
// hexsha in this store. The bytes are checked against the hexsha.
func (s VCStore) Open(info map[string]any) ([]byte, error) {
	sum, _ := info["hexsha"].(string)
	if sum == "" {
		return nil, fmt.Errorf("vc info %v has no hexsha", info)
	}
	var candidates []string
	if uri, _ := info["uri"].(string); uri != "" {
		candidates = append(candidates, uri)
	}
	if s.Dir != "" {
		candidates = append(candidates, filepath.Join(s.Dir, sum))
	}
	var firstErr error
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != sum {
			return nil, fmt.Errorf("%s does not have SHA-256 %s: the store was modified", p, sum)
		}
		return b, nil
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("hexsha %s: %w", sum, os.ErrNotExist)
	}
	return nil, firstErr
}
