package authtest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/gmis-oss/gmis/shared/csvio"
)

// BatchWrite loads items into table with BatchWriteItem, 25 at a time,
// from 8 goroutines: how benchmarks fill DynamoDB Local quickly.
func BatchWrite(b testing.TB, db *dynamodb.Client, table string, items []map[string]types.AttributeValue) {
	var wg sync.WaitGroup
	chunks := make(chan []map[string]types.AttributeValue)
	for range 8 {
		wg.Go(func() {
			for chunk := range chunks {
				reqs := make([]types.WriteRequest, len(chunk))
				for i, it := range chunk {
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
				}
				pending := map[string][]types.WriteRequest{table: reqs}
				for len(pending) > 0 {
					out, err := db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: pending})
					if err != nil {
						b.Error(err)
						return
					}
					pending = out.UnprocessedItems
				}
			}
		})
	}
	for start := 0; start < len(items); start += 25 {
		chunks <- items[start:min(start+25, len(items))]
	}
	close(chunks)
	wg.Wait()
}

// ApplicationForm builds an application form (システム利用申請様式) CSV as
// Excel saves it: title, if any, on a line of its own above the header row,
// then one row per map of column letter → value.
func ApplicationForm(title string, rows []map[string]string) string {
	const cols = 40 // A … AN
	var b strings.Builder
	if title != "" {
		b.WriteString(title + "\r\n")
	}
	header := make([]string, cols)
	header[csvio.ColumnIndex("B")] = "利用者名"
	header[csvio.ColumnIndex("AN")] = "二要素認証手段コード"
	b.WriteString(strings.Join(header, ",") + "\r\n")
	for _, r := range rows {
		fields := make([]string, cols)
		for col, v := range r {
			fields[csvio.ColumnIndex(col)] = v
		}
		b.WriteString(strings.Join(fields, ",") + "\r\n")
	}
	return b.String()
}
