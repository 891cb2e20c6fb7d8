// Package invoke starts Lambda functions asynchronously (Event
// invocations): the jobs function, from the admin function and from itself.
package invoke

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gmis-oss/gmis/shared/job"
)

// Client is the part of the Lambda API a Jobs uses.
type Client interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Jobs starts the jobs function for a job.
type Jobs struct {
	client   Client
	function string
}

var _ job.Starter = (*Jobs)(nil)

// NewJobs returns a Jobs invoking function (its name or ARN).
func NewJobs(client Client, function string) *Jobs { return &Jobs{client: client, function: function} }

// Event is what the jobs function receives: a job to work on, or the
// sweeper's tick.
type Event struct {
	JobID string `json:"jobId,omitempty"`
	Sweep bool   `json:"sweep,omitempty"`
}

// Start invokes the function asynchronously for job id.
func (j *Jobs) Start(ctx context.Context, id string) error {
	payload, err := json.Marshal(Event{JobID: id})
	if err != nil {
		return err
	}
	_, err = j.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(j.function), InvocationType: types.InvocationTypeEvent, Payload: payload})
	if err != nil {
		return fmt.Errorf("start job %s: %w", id, err)
	}
	return nil
}
