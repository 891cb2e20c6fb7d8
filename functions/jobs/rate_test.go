package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/issuance"
	"github.com/gmis-oss/gmis/shared/job"
)

// Two notice-mail jobs running at once share one SES send rate: each
// paces itself at the rate, so alone each would send the rate a second
// and the two together twice that; the budget counted per second in
// DynamoDB holds them to the rate together.
func TestTwoNotifyJobsShareTheSendRate(t *testing.T) {
	e := startBench(t)
	ctx := context.Background()
	const rate, each = 5, 10
	issued := make([]job.Job, 2)
	for k := range issued {
		var form bytes.Buffer
		for i := range each {
			cells := make([]string, 40)
			cells[1], cells[2], cells[3], cells[4] = fmt.Sprintf("送信 太郎%d-%d", k, i), "03-5555-0001", fmt.Sprintf("rate-%d-%d@hospital.example.jp", k, i), "09"
			cells[10], cells[32], cells[35], cells[39], cells[38] = "1301", "0", "1310000001", "1", cells[3]
			form.WriteString(strings.Join(cells, ",") + "\r\n")
		}
		issued[k], _, _ = e.run(t, job.Issuance, nil, form.Bytes())
	}

	budget := dynamo.NewMailBudget(e.db, e.jobsTable, rate, nil)
	runner := job.NewRunner(e.jobs, e.starts, map[job.Kind]job.Handler{job.Notify: issuance.NewNotifyJob(e.bulk, e.jobs, e.jobs, budget, rate, nil)}, job.Config{})
	svc := job.NewService(e.jobs, e.starts, e.files, map[job.Kind]job.Check{job.Notify: issuance.NewNotifyCheck(e.jobs)}, nil, nil)
	ids := make([]string, len(issued))
	for k := range issued {
		j, err := svc.Create(ctx, national, job.Notify, map[string]string{"issuance": issued[k].ID}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = j.ID
	}
	began := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for k := range ids {
		wg.Go(func() { errs[k] = runner.Run(ctx, ids[k], fmt.Sprintf("rate-%d", k)) })
	}
	wg.Wait()
	ended := time.Now()
	for k, id := range ids {
		got, err := e.jobs.GetJob(ctx, id)
		if errs[k] != nil || err != nil || got.State != job.Done || got.Counts["sent"] != each {
			t.Fatalf("notify job %d: %v %v %s %v", k, errs[k], err, got.State, got.Counts)
		}
	}

	// The seconds' counts, read from DynamoDB Local: none over the rate,
	// one slot per mail.
	total := 0
	var seconds []string
	for sec := began.Unix(); sec <= ended.Unix(); sec++ {
		out, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.jobsTable), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "mailrate#" + strconv.FormatInt(sec, 10)},
				"sk": &types.AttributeValueMemberS{Value: "count"}}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if v, ok := out.Item["n"].(*types.AttributeValueMemberN); ok {
			n, _ = strconv.Atoi(v.Value)
		}
		if n > rate {
			t.Errorf("second %d: %d mails, want at most %d", sec, n, rate)
		}
		total += n
		seconds = append(seconds, strconv.Itoa(n))
	}
	if total != 2*each {
		t.Errorf("%d mails counted in the budget, want %d", total, 2*each)
	}
	// 20 mails at 5 a second take at least 3 s (4 seconds' windows);
	// each job alone would be done in 2 s.
	if took := ended.Sub(began); took < 3*time.Second {
		t.Errorf("two jobs sent %d mails in %s, faster than %d a second together", 2*each, took, rate)
	}
	t.Logf("mails per second: %s", strings.Join(seconds, " "))
}
