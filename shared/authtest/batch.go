package authtest

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
