package auditarchive_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/auditarchive"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// fakeS3 speaks S3's REST protocol, path style, for PutObject and
// GetObject: PUT and GET /<bucket>/<key>, the body plain or in the
// aws-chunked encoding the SDK uses for checksummed uploads, NoSuchKey
// as S3's XML error. It checks a SigV4 Authorization header is present
// (not its signature).
type fakeS3 struct {
	bucket string
	mu     sync.Mutex
	objs   map[string][]byte
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "unsigned", http.StatusForbidden)
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != f.bucket {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>no bucket</Message></Error>`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") ||
			strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
			if body, err = unchunk(body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		f.objs[key] = body
		w.Header().Set("ETag", `"`+strconv.Itoa(len(body))+`"`)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		body, ok := f.objs[key]
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// unchunk decodes aws-chunked: "<hex size>[;ext]\r\n<data>\r\n" … a zero
// chunk, then trailers.
func unchunk(b []byte) ([]byte, error) {
	var out bytes.Buffer
	rd := bufio.NewReader(bytes.NewReader(b))
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out.Bytes(), nil
		}
		if _, err := io.CopyN(&out, rd, n); err != nil {
			return nil, err
		}
		if _, err := rd.ReadString('\n'); err != nil {
			return nil, err
		}
	}
}

func TestArchiveToS3(t *testing.T) {
	ctx := t.Context()
	fake := &fakeS3{bucket: "audit-archive", objs: map[string][]byte{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	sink, err := auditarchive.Open("s3://audit-archive/prod/keyvault", func() (aws.Config, error) {
		return aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, nil
	})
	require.NoError(t, err)
	require.Equal(t, "s3://audit-archive/prod/keyvault", sink.String())

	st, err := store.Open(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	appendLinks(ctx, t, st, 12)
	a := &auditarchive.Archiver{Store: st, Sink: sink, Retention: time.Hour, Batch: 5,
		Now: func() time.Time { return t0.Add(70*time.Minute + time.Second) }}
	n, err := a.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 10, n)

	var keys []string
	fake.mu.Lock()
	for k := range fake.objs {
		keys = append(keys, k)
	}
	fake.mu.Unlock()
	sort.Strings(keys)
	require.Equal(t, []string{"prod/keyvault/" + auditarchive.ObjectName(1, 5), "prod/keyvault/" + auditarchive.ObjectName(6, 10)}, keys)
	archived, err := auditarchive.Verify(ctx, st, sink, []string{auditarchive.ObjectName(1, 5), auditarchive.ObjectName(6, 10)})
	require.NoError(t, err)
	require.Equal(t, int64(10), archived)

	_, err = sink.Get(ctx, "audit-missing.jsonl")
	require.ErrorContains(t, err, "NoSuchKey")

	// A bucket that does not exist fails the run and deletes nothing.
	bad, err := auditarchive.Open("s3://no-such-bucket", func() (aws.Config, error) {
		return aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, nil
	})
	require.NoError(t, err)
	a.Sink, a.Now = bad, func() time.Time { return t0.Add(24 * time.Hour) }
	_, err = a.Run(ctx)
	require.ErrorContains(t, err, "NoSuchBucket")
	left, err := st.AuditEntries(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, left, 2)
}

func TestOpenRejectsOtherSchemes(t *testing.T) {
	_, err := auditarchive.Open("ftp://x/y", nil)
	require.ErrorContains(t, err, "want s3://bucket/prefix")
	_, err = auditarchive.Open("s3:///nobucket", nil)
	require.ErrorContains(t, err, "want s3://bucket/prefix")
	dir := t.TempDir() + "/archive"
	s, err := auditarchive.Open("file://"+dir, nil)
	require.NoError(t, err)
	require.Equal(t, "dir "+dir, s.String())
}
