// Package uploads keeps uploaded files (application forms, master CSVs) in
// an S3 bucket: written by the admin function or by a browser through a
// presigned PUT, read back in ranges by the jobs that work through them.
// It also keeps the files export jobs write, in parts, under "exports/",
// fetched through a presigned GET.
package uploads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/gmis-oss/gmis/shared/apperr"
)

// MaxBytes is the largest file a job takes.
const MaxBytes = 100 << 20

// Client is the part of the S3 API the store uses.
type Client interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
}

// Store keeps files in one bucket, under "uploads/" and "exports/".
type Store struct {
	client  Client
	presign *s3.PresignClient
	bucket  string
}

// New returns a Store; client must be an *s3.Client for presigned URLs.
func New(client *s3.Client, bucket string) *Store {
	return &Store{client: client, presign: s3.NewPresignClient(client), bucket: bucket}
}

// Key is where an administrator's upload id lives.
func Key(owner, id string) string { return "uploads/" + owner + "/" + id }

// Open reads a file from byte offset on.
func (s *Store) Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, apperr.New(apperr.NotFound, "ファイルが見つかりません。", "no such upload")
		}
		if offset > 0 && isRangeError(err) {
			return io.NopCloser(eofReader{}), nil // the checkpoint is the end of the file
		}
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return out.Body, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func isRangeError(err error) bool {
	var ae interface{ ErrorCode() string }
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange"
}

// Size returns a file's size; NotFound when it is not there.
func (s *Store) Size(ctx context.Context, key string) (int64, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		var nf *types.NotFound
		if errors.As(err, &nf) {
			return 0, apperr.InvalidField("upload", "アップロードされたファイルが見つかりません。先にファイルをアップロードしてください。", "no file was uploaded under this ID")
		}
		return 0, fmt.Errorf("head %s: %w", key, err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Put stores a file.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String(contentType), ServerSideEncryption: types.ServerSideEncryptionAes256})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// PresignPut returns a URL a browser can PUT the file to until ttl ends.
func (s *Store) PresignPut(ctx context.Context, key, contentType string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, ContentType: aws.String(contentType)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, err)
	}
	return req.URL, nil
}

// ExportKey is where an export job of owner writes its file.
func ExportKey(owner, jobID string) string { return "exports/" + owner + "/" + jobID + ".csv" }

// attachment is the Content-Disposition of a file downloaded as filename.
func attachment(filename string) *string {
	return aws.String(`attachment; filename="` + filename + `"`)
}

// PutWhole stores a file downloaded as filename in one piece.
func (s *Store) PutWhole(ctx context.Context, key, contentType, filename string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String(contentType), ContentDisposition: attachment(filename),
		ServerSideEncryption: types.ServerSideEncryptionAes256})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// BeginParts starts a file downloaded as filename, written in parts (a
// multipart upload), and returns the upload's ID.
func (s *Store) BeginParts(ctx context.Context, key, contentType, filename string) (string, error) {
	out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key,
		ContentType: aws.String(contentType), ContentDisposition: attachment(filename), ServerSideEncryption: types.ServerSideEncryptionAes256})
	if err != nil {
		return "", fmt.Errorf("begin %s: %w", key, err)
	}
	return aws.ToString(out.UploadId), nil
}

// PutPart writes part n (from 1) of an upload; writing a part again
// replaces it. Every part but the last must be 5 MiB or more.
func (s *Store) PutPart(ctx context.Context, key, upload string, n int32, data []byte) (string, error) {
	out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.bucket, Key: &key, UploadId: &upload, PartNumber: aws.Int32(n),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})
	if err != nil {
		return "", fmt.Errorf("put part %d of %s: %w", n, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// FinishParts joins the parts (their ETags in order) into the file. An
// upload finished before (by an invocation lost before it recorded so)
// whose file is there counts as finished.
func (s *Store) FinishParts(ctx context.Context, key, upload string, etags []string) error {
	parts := make([]types.CompletedPart, len(etags))
	for i, e := range etags {
		parts[i] = types.CompletedPart{ETag: aws.String(e), PartNumber: aws.Int32(int32(i + 1))}
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: &upload,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		var nu *types.NoSuchUpload
		if errors.As(err, &nu) {
			if _, herr := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key}); herr == nil {
				return nil
			}
		}
		return fmt.Errorf("finish %s: %w", key, err)
	}
	return nil
}

// PresignGet returns a URL that downloads the file at key as filename
// until ttl ends.
func (s *Store) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key,
		ResponseContentDisposition: attachment(filename)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, err)
	}
	return req.URL, nil
}
