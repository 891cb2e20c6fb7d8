package uploads

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/gmis-oss/gmis/infra/local/services"
)

// TestExportFileInParts writes a file in parts to moto's S3 as an export
// job does, finishes it twice (the second time as an invocation lost
// after finishing would), and downloads it through a presigned GET.
func TestExportFileInParts(t *testing.T) {
	ctx := context.Background()
	moto, err := services.StartMoto(ctx, services.MotoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Stop()
	ep := services.Endpoints{Moto: moto.Endpoint, Region: "ap-northeast-1"}
	client := ep.S3Client()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("exports-test"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "ap-northeast-1"}}); err != nil {
		t.Fatal(err)
	}
	store := New(client, "exports-test")
	key := ExportKey("U1", "0123456789abcdef01234567")
	upload, err := store.BeginParts(ctx, key, "text/csv; charset=utf-8", "daily-13.csv")
	if err != nil {
		t.Fatal(err)
	}
	first := bytes.Repeat([]byte("a,b\r\n"), (5<<20)/5+1) // every part but the last is 5 MiB or more
	var etags []string
	for i, part := range [][]byte{first, []byte("last\r\n")} {
		// The first part is written twice, as after a lost checkpoint.
		for range 2 - i {
			etag, err := store.PutPart(ctx, key, upload, int32(i+1), part)
			if err != nil {
				t.Fatal(err)
			}
			if len(etags) == i {
				etags = append(etags, etag)
			} else {
				etags[i] = etag
			}
		}
	}
	for range 2 {
		if err := store.FinishParts(ctx, key, upload, etags); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	url, err := store.PresignGet(ctx, key, "daily-13.csv", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	want := append(bytes.Clone(first), "last\r\n"...)
	if resp.StatusCode != 200 || !bytes.Equal(got, want) || !strings.Contains(resp.Header.Get("Content-Disposition"), "daily-13.csv") {
		t.Errorf("download = %d, %d bytes (want %d), %v", resp.StatusCode, len(got), len(want), resp.Header)
	}
	if err := store.FinishParts(ctx, ExportKey("U1", "none"), upload, etags); err == nil {
		t.Error("finishing an unknown upload of a file that is not there succeeded")
	}
}
