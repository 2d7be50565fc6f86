package auditarchive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Sink stores archive objects by name.
type Sink interface {
	// Put stores body under name, replacing an object of the same name (a
	// run archived again after a crash between Put and the delete holds
	// the same links).
	Put(ctx context.Context, name string, body []byte) error
	// Get returns the object stored under name.
	Get(ctx context.Context, name string) ([]byte, error)
	// String names the archive for logs (no credentials).
	String() string
}

// Open returns the sink of an AUDIT_ARCHIVE value: "s3://bucket/prefix"
// (the client from awsCfg) or a directory ("file:///path" or a plain
// path).
func Open(archive string, awsCfg func() (aws.Config, error)) (Sink, error) {
	u, err := url.Parse(archive)
	if err == nil && u.Scheme == "s3" {
		if u.Host == "" {
			return nil, errors.New("s3 archive: want s3://bucket/prefix")
		}
		cfg, err := awsCfg()
		if err != nil {
			return nil, err
		}
		return &S3{Client: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), Bucket: u.Host,
			Prefix: strings.Trim(u.Path, "/")}, nil
	}
	dir := archive
	if err == nil && u.Scheme == "file" {
		dir = u.Path
	} else if err == nil && u.Scheme != "" {
		return nil, fmt.Errorf("archive %q: want s3://bucket/prefix, file:///dir or a directory", archive)
	}
	if dir == "" {
		return nil, errors.New("archive: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("archive dir: %w", err)
	}
	return Dir(dir), nil
}

// Dir is a directory of archive objects.
type Dir string

func (d Dir) String() string { return "dir " + string(d) }

// Put writes the object to a temporary file, syncs it and renames it into
// place, so a crash leaves the old object or the new one, never half.
func (d Dir) Put(_ context.Context, name string, body []byte) error {
	p := filepath.Join(string(d), filepath.Base(name))
	tmp, err := os.CreateTemp(string(d), ".put-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return err
	}
	dir, err := os.Open(string(d))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// Get reads the object.
func (d Dir) Get(_ context.Context, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.Base(name)))
}

// S3 is a bucket (and key prefix) of archive objects.
type S3 struct {
	Client *s3.Client
	Bucket string
	Prefix string
}

func (s *S3) String() string { return "s3://" + s.Bucket + "/" + s.Prefix }

func (s *S3) key(name string) string { return path.Join(s.Prefix, name) }

// Put stores the object (server-side encrypted with the bucket's key).
func (s *S3) Put(ctx context.Context, name string, body []byte) error {
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name)), Body: bytes.NewReader(body),
		ContentType: aws.String("application/x-ndjson"),
	})
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", s.key(name), err)
	}
	return nil
}

// Get reads the object.
func (s *S3) Get(ctx context.Context, name string) ([]byte, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name))})
	if err != nil {
		return nil, fmt.Errorf("s3 get %s: %w", s.key(name), err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}
