package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/issuance"
)

// MailBudget shares the SES send rate among every notice-mail job at
// once: the mails of each second are counted in one item of the jobs
// table (pk "mailrate#<unix second>", sk "count", kept a day by TTL), and
// a mail takes a slot with a conditional atomic ADD that fails once the
// second holds rate mails; then it waits for the next second. Each second
// is its own partition key, so the counter is no hot key.
type MailBudget struct {
	db    Client
	table string
	rate  int
	now   func() time.Time
}

var _ issuance.MailBudget = (*MailBudget)(nil)

// NewMailBudget returns a MailBudget of rate mails a second.
func NewMailBudget(db Client, table string, rate int, now func() time.Time) *MailBudget {
	if now == nil {
		now = time.Now
	}
	return &MailBudget{db: db, table: table, rate: max(rate, 1), now: now}
}

// mailRateKept is how long a second's count is kept (for inspection).
const mailRateKept = 24 * time.Hour

// Take waits until a mail may be sent within the rate, or ctx ends.
func (b *MailBudget) Take(ctx context.Context) error {
	for {
		now := b.now()
		sec := now.Unix()
		_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &b.table,
			Key:                       map[string]types.AttributeValue{"pk": str("mailrate#" + strconv.FormatInt(sec, 10)), "sk": str("count")},
			UpdateExpression:          aws.String("ADD #n :one SET expiresAt = if_not_exists(expiresAt, :exp)"),
			ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :rate"),
			ExpressionAttributeNames:  map[string]string{"#n": "n"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":rate": num(int64(b.rate)), ":exp": num(now.Add(mailRateKept).Unix())}})
		if err == nil {
			return nil
		}
		if !isConditionFailed(err) {
			return wrap("take a mail slot", err)
		}
		// This second is full: the next one has room.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Unix(sec+1, 0).Sub(now)):
		}
	}
}
