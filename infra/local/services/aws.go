package services

import (
	"sync/atomic"

	"context"
	"errors"
	"fmt"
	"github.com/aws/smithy-go/middleware"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/gmis-oss/gmis/infra/local/template"
)

// Local credentials: DynamoDB Local and moto accept any.
const (
	LocalAccessKeyID     = "local"
	LocalSecretAccessKey = "local"
)

// Endpoints are where the local AWS stand-ins listen.
type Endpoints struct {
	DynamoDB string
	Moto     string // SES, SNS and S3
	Voice    string // the voice stand-in (SendVoiceMessage); "" when none runs
	Lambda   string // the stack's Invoke API; "" when none is served
	Region   string
}

// Env is the environment a function (or a test) needs to reach them through
// the SDK's standard variables; function code never asks whether it is local.
func (e Endpoints) Env() []string {
	env := []string{
		"AWS_REGION=" + e.Region,
		"AWS_DEFAULT_REGION=" + e.Region,
		"AWS_ACCESS_KEY_ID=" + LocalAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + LocalSecretAccessKey,
		"AWS_ENDPOINT_URL_DYNAMODB=" + e.DynamoDB,
		"AWS_ENDPOINT_URL_SES=" + e.Moto,
		"AWS_ENDPOINT_URL_SNS=" + e.Moto,
		"AWS_ENDPOINT_URL_S3=" + e.Moto,
	}
	if e.Lambda != "" {
		env = append(env, "AWS_ENDPOINT_URL_LAMBDA="+e.Lambda)
	}
	if e.Voice != "" {
		// The SDK's variable for the service ID "Pinpoint SMS Voice V2".
		env = append(env, "AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2="+e.Voice)
	}
	return env
}

// Config is an SDK configuration that talks to the local endpoints.
func (e Endpoints) Config() aws.Config {
	return aws.Config{
		Region:      e.Region,
		Credentials: credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretAccessKey, ""),
	}
}

// DynamoDBClient returns a client of the local DynamoDB.
func (e Endpoints) DynamoDBClient() *dynamodb.Client {
	return dynamodb.NewFromConfig(e.Config(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.DynamoDB) })
}

// CountingDynamoDBClient is DynamoDBClient with every call counted (by an
// SDK middleware) into the counter counter picks for the call's context;
// a nil counter leaves the call uncounted. Benchmarks report DynamoDB
// calls with it rather than timing them.
func (e Endpoints) CountingDynamoDBClient(counter func(context.Context) *atomic.Int64) *dynamodb.Client {
	count := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if n := counter(ctx); n != nil {
					n.Add(1)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
	return dynamodb.NewFromConfig(e.Config(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(e.DynamoDB)
		o.APIOptions = append(o.APIOptions, count)
	})
}

// SESClient returns a client of moto's SES.
func (e Endpoints) SESClient() *ses.Client {
	return ses.NewFromConfig(e.Config(), func(o *ses.Options) { o.BaseEndpoint = aws.String(e.Moto) })
}

// S3Client returns a client of moto's S3. The endpoint is an IP address,
// so the SDK addresses buckets path-style (http://127.0.0.1:PORT/bucket/key),
// which moto serves; presigned URLs take the same form.
func (e Endpoints) S3Client() *s3.Client {
	return s3.NewFromConfig(e.Config(), func(o *s3.Options) { o.BaseEndpoint = aws.String(e.Moto) })
}

// CreateBuckets creates the template's buckets in moto (an existing one is
// kept) with their CORS rules, and reports what it created.
func CreateBuckets(ctx context.Context, client *s3.Client, region string, buckets []template.Bucket) ([]string, error) {
	var created []string
	for _, b := range buckets {
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.Name),
			CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}})
		var owned *s3types.BucketAlreadyOwnedByYou
		switch {
		case err == nil:
			created = append(created, b.Name)
		case errors.As(err, &owned):
		default:
			return created, fmt.Errorf("create bucket %s: %w", b.Name, err)
		}
		if len(b.CORS) == 0 {
			continue
		}
		var rules []s3types.CORSRule
		for _, r := range b.CORS {
			rule := s3types.CORSRule{AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
				AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposedHeaders}
			if r.MaxAge > 0 {
				rule.MaxAgeSeconds = aws.Int32(int32(r.MaxAge))
			}
			rules = append(rules, rule)
		}
		if _, err := client.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(b.Name),
			CORSConfiguration: &s3types.CORSConfiguration{CORSRules: rules}}); err != nil {
			return created, fmt.Errorf("CORS of bucket %s: %w", b.Name, err)
		}
	}
	return created, nil
}

// CreateTables creates the template's tables that do not exist yet, adds
// indexes a table lacks and turns on time to live, so the local tables match
// what CloudFormation would deploy. It reports what it created.
func CreateTables(ctx context.Context, db *dynamodb.Client, tables []template.Table) ([]string, error) {
	var created []string
	for _, t := range tables {
		name := aws.ToString(t.Input.TableName)
		_, err := db.CreateTable(ctx, t.Input)
		var inUse *types.ResourceInUseException
		switch {
		case err == nil:
			created = append(created, name)
		case errors.As(err, &inUse):
			if err := addMissingIndexes(ctx, db, t); err != nil {
				return created, err
			}
		default:
			return created, fmt.Errorf("create table %s: %w", name, err)
		}
		if t.TTLAttribute != "" {
			_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               t.Input.TableName,
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
			})
			if err != nil && !strings.Contains(err.Error(), "already enabled") {
				return created, fmt.Errorf("time to live of %s: %w", name, err)
			}
		}
	}
	return created, nil
}

func addMissingIndexes(ctx context.Context, db *dynamodb.Client, t template.Table) error {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: t.Input.TableName})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", aws.ToString(t.Input.TableName), err)
	}
	have := map[string]bool{}
	for _, gsi := range out.Table.GlobalSecondaryIndexes {
		have[aws.ToString(gsi.IndexName)] = true
	}
	for _, gsi := range t.Input.GlobalSecondaryIndexes {
		if have[aws.ToString(gsi.IndexName)] {
			continue
		}
		_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            t.Input.TableName,
			AttributeDefinitions: t.Input.AttributeDefinitions,
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: gsi.IndexName, KeySchema: gsi.KeySchema, Projection: gsi.Projection,
				ProvisionedThroughput: gsi.ProvisionedThroughput,
			}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s to %s: %w", aws.ToString(gsi.IndexName), aws.ToString(t.Input.TableName), err)
		}
	}
	return nil
}

// VerifySender verifies a mail address in moto's SES, which refuses to send
// from an unverified address just as SES's sandbox does.
func VerifySender(ctx context.Context, client *ses.Client, address string) error {
	_, err := client.VerifyEmailIdentity(ctx, &ses.VerifyEmailIdentityInput{EmailAddress: aws.String(address)})
	if err != nil {
		return fmt.Errorf("verify sender %s: %w", address, err)
	}
	return nil
}
