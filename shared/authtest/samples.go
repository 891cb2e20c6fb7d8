package authtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gmis-oss/gmis/infra/local/services"
)

// RunPrivateSamples decodes every sample in events/<dir>, checks that it
// survives a round trip through the event type and is a complete payload
// 2.0 event, and runs it through function via the Invoke API: the samples
// carry no session, so each must answer 401 in the JSON error envelope.
// At least min samples must be there.
func (e *Env) RunPrivateSamples(t *testing.T, dir, function string, min int) {
	t.Helper()
	root, err := services.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	client := lambda.New(lambda.Options{Region: "ap-northeast-1", BaseEndpoint: aws.String(e.Stack.InvokeURL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	files, _ := filepath.Glob(filepath.Join(root, "events", dir, "*.json"))
	if len(files) < min {
		t.Fatalf("found %d samples in events/%s, want at least %d", len(files), dir, min)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Version != "2.0" || ev.RouteKey == "" || ev.RouteKey != ev.RequestContext.RouteKey || ev.RequestContext.RequestID == "" ||
				ev.RequestContext.HTTP.Path != ev.RawPath {
				t.Fatalf("not a complete payload 2.0 event")
			}
			var a, b any
			again, _ := json.Marshal(ev)
			_ = json.Unmarshal(data, &a)
			_ = json.Unmarshal(again, &b)
			if fmt.Sprint(stripEmpty(a)) != fmt.Sprint(stripEmpty(b)) {
				t.Errorf("fields the event type does not know:\n%s\n%s", data, again)
			}
			if ev.Body != "" {
				var body map[string]any
				if err := json.Unmarshal([]byte(ev.Body), &body); err != nil {
					t.Errorf("body is not JSON: %v", err)
				}
			}
			out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(function), Payload: data})
			if err != nil || out.FunctionError != nil {
				t.Fatalf("invoke: %v %s", err, out.Payload)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out.Payload, &resp); err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal([]byte(resp.Body), &body)
			if resp.StatusCode != 401 || body.Error.Code != "unauthenticated" {
				t.Errorf("= %d %s, want 401 unauthenticated", resp.StatusCode, resp.Body)
			}
		})
	}
}

// stripEmpty drops empty values, which the event type omits or adds.
func stripEmpty(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, val := range m {
		val = stripEmpty(val)
		if val == nil || val == "" || val == false || val == float64(0) {
			continue
		}
		if sub, ok := val.(map[string]any); ok && len(sub) == 0 {
			continue
		}
		out[k] = val
	}
	return out
}
