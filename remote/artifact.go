package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
)

// LogArtifact uploads the file at path as the artifact name of r,
// streamed: the file never has to fit in memory.
func (c *Client) LogArtifact(ctx context.Context, r res, name, path string, opts ...metatrack.ArtifactOption) (metatrack.Artifact, error) {
	return c.putArtifact(ctx, r, name, path, metatrack.KindArtifact, "", opts)
}

// LogDataProfile uploads a data profile report of r.
func (c *Client) LogDataProfile(ctx context.Context, r res, path string, opts ...metatrack.ArtifactOption) (metatrack.Artifact, error) {
	return c.putArtifact(ctx, r, "", path, metatrack.KindDataProfile, "", opts)
}

// LogChecks uploads a check report of r of the given check type.
func (c *Client) LogChecks(ctx context.Context, r res, path, checkType string, opts ...metatrack.ArtifactOption) (metatrack.Artifact, error) {
	return c.putArtifact(ctx, r, "", path, metatrack.KindChecks, checkType, opts)
}

// LogDataComparison uploads a data comparison report of r.
func (c *Client) LogDataComparison(ctx context.Context, r res, path string, opts ...metatrack.ArtifactOption) (metatrack.Artifact, error) {
	return c.putArtifact(ctx, r, "", path, metatrack.KindDataComparison, "", opts)
}

func (c *Client) putArtifact(ctx context.Context, r res, name, path, kind, checkType string, opts []metatrack.ArtifactOption) (metatrack.Artifact, error) {
	if err := c.checkOpen(); err != nil {
		return metatrack.Artifact{}, err
	}
	spec := metatrack.ResolveArtifactOptions(opts...)
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("resource", api.Key(r))
	if name == "" {
		name = spec.Name
	}
	set("name", name)
	set("kind", kind)
	set("check_type", checkType)
	set("media_type", spec.MediaType)
	set("uri", spec.URI)
	set("sha256", spec.SHA256)
	if spec.Size != 0 {
		q.Set("size", strconv.FormatInt(spec.Size, 10))
	}
	var size int64
	if path == "" {
		q.Set("file", "false")
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return metatrack.Artifact{}, fmt.Errorf("%w: %v", metatrack.ErrInvalidArgument, err)
		}
		info, err := os.Stat(path)
		if err != nil {
			return metatrack.Artifact{}, fmt.Errorf("%w: artifact %q: %w", metatrack.ErrInvalidArgument, name, err)
		}
		if !info.Mode().IsRegular() {
			return metatrack.Artifact{}, fmt.Errorf("%w: artifact %q: %s is a directory or special file, not a regular file", metatrack.ErrInvalidArgument, name, path)
		}
		size = info.Size()
		q.Set("source_path", abs)
	}
	target := c.base + "/api/v1/artifact?" + q.Encode()
	res, err := c.do(ctx, func() (*http.Request, error) {
		var body io.ReadCloser = http.NoBody
		if path != "" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("%w: artifact %q: %w", metatrack.ErrInvalidArgument, name, err)
			}
			body = f
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, body)
		if err != nil {
			body.Close()
			return nil, err
		}
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		return req, nil
	})
	if err != nil {
		return metatrack.Artifact{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return metatrack.Artifact{}, responseError(res)
	}
	var a metatrack.Artifact
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		return a, fmt.Errorf("metatrack server %s: decoding the artifact record: %w", c.base, err)
	}
	return a, nil
}

// GetArtifact returns the record of artifact name of r and a reader of
// its bytes, streamed from the server, which verifies them against their
// SHA-256 as it sends them: a mismatch is the reader's error at the end
// (ErrCorrupt).
func (c *Client) GetArtifact(ctx context.Context, r res, name string) (metatrack.Artifact, io.ReadCloser, error) {
	return c.getArtifact(ctx, url.Values{"resource": {api.Key(r)}, "name": {name}})
}

// GetDataProfile returns the newest data profile report of r.
func (c *Client) GetDataProfile(ctx context.Context, r res) (metatrack.Artifact, io.ReadCloser, error) {
	return c.getArtifact(ctx, url.Values{"resource": {api.Key(r)}, "kind": {metatrack.KindDataProfile}})
}

// GetChecks returns the newest check report of r of the given type.
func (c *Client) GetChecks(ctx context.Context, r res, checkType string) (metatrack.Artifact, io.ReadCloser, error) {
	return c.getArtifact(ctx, url.Values{"resource": {api.Key(r)}, "kind": {metatrack.KindChecks}, "check_type": {checkType}})
}

// GetDataComparison returns the newest data comparison report of r.
func (c *Client) GetDataComparison(ctx context.Context, r res) (metatrack.Artifact, io.ReadCloser, error) {
	return c.getArtifact(ctx, url.Values{"resource": {api.Key(r)}, "kind": {metatrack.KindDataComparison}})
}

// SaveArtifact writes artifact name of r to the file dst, as the library's
// SaveArtifact does.
func (c *Client) SaveArtifact(ctx context.Context, r res, name, dst string) (metatrack.Artifact, error) {
	a, rc, err := c.GetArtifact(ctx, r, name)
	if err != nil {
		return a, err
	}
	defer rc.Close()
	_, err = metatrack.WriteArtifactFile(dst, a, rc)
	return a, err
}

func (c *Client) getArtifact(ctx context.Context, q url.Values) (metatrack.Artifact, io.ReadCloser, error) {
	var a metatrack.Artifact
	if err := c.checkOpen(); err != nil {
		return a, nil, err
	}
	res, err := c.do(ctx, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/artifact?"+q.Encode(), nil)
	})
	if err != nil {
		return a, nil, err
	}
	if rec := res.Header.Get(api.HeaderArtifact); rec != "" {
		if err := json.Unmarshal([]byte(rec), &a); err != nil {
			res.Body.Close()
			return a, nil, fmt.Errorf("metatrack server %s: decoding the artifact record: %w", c.base, err)
		}
	}
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		err := responseError(res)
		if errors.Is(err, metatrack.ErrExternalArtifact) && a.URI != "" {
			// The server does not open files of its machine; a file: URI
			// names one of this machine, as the library would open it.
			rc, err := metatrack.OpenExternalArtifact(a)
			return a, rc, err
		}
		return a, nil, err
	}
	return a, &artifactReader{res: res}, nil
}

// artifactReader reads a download and, at its end, the server's verdict
// in the trailer.
type artifactReader struct {
	res *http.Response
	err error
}

func (r *artifactReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.res.Body.Read(p)
	if errors.Is(err, io.EOF) {
		if t := r.res.Trailer.Get(api.TrailerError); t != "" {
			var d api.ErrorDetail
			if json.Unmarshal([]byte(t), &d) != nil {
				d = api.ErrorDetail{Code: api.CodeInternal, Message: t}
			}
			err = d.Err(r.res.StatusCode)
		}
	} else if err != nil {
		err = fmt.Errorf("metatrack server: reading an artifact: %w", err)
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *artifactReader) Close() error { return r.res.Body.Close() }
