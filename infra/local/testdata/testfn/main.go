// Command testfn is a Lambda function for the local stack's tests. Its
// payload says what to do, so one binary can answer, fail, panic, hang or
// crash on request.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type command struct {
	Action string          `json:"action"`
	Ms     int             `json:"ms"`
	Reply  json.RawMessage `json:"reply"`
	// HTTP events carry the command in rawPath: /echo, /sleep/200 …
	RawPath string `json:"rawPath"`
}

var started = time.Now()

func main() {
	if os.Getenv("TESTFN_FAIL_INIT") != "" {
		fmt.Fprintln(os.Stderr, "init failure requested")
		os.Exit(3)
	}
	lambda.Start(handle)
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	fmt.Printf("event %s\n", raw)
	var cmd command
	_ = json.Unmarshal(raw, &cmd)
	if cmd.RawPath != "" {
		return handleHTTP(ctx, raw)
	}
	return run(ctx, cmd, raw)
}

func run(ctx context.Context, cmd command, raw json.RawMessage) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("log line for %s\n", lc.AwsRequestID)
	switch cmd.Action {
	case "echo", "":
		return map[string]any{"event": raw, "pid": os.Getpid(), "env": env(), "arn": lc.InvokedFunctionArn, "started": started}, nil
	case "reply":
		return cmd.Reply, nil
	case "error":
		return nil, errors.New("requested failure")
	case "panic":
		panic("requested panic")
	case "exit":
		os.Exit(2)
	case "sleep":
		time.Sleep(time.Duration(cmd.Ms) * time.Millisecond)
		return map[string]any{"slept": cmd.Ms, "pid": os.Getpid()}, nil
	}
	return nil, fmt.Errorf("unknown action %q", cmd.Action)
}

// handleHTTP answers API Gateway events: /echo returns the event it got,
// /sleep/N sleeps N ms, /panic panics, /cookies sets two cookies, /binary
// returns bytes, /raw returns a bare JSON value (no statusCode).
func handleHTTP(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	parts := strings.Split(strings.Trim(ev.RawPath, "/"), "/")
	switch parts[len(parts)-1] {
	case "panic":
		panic("requested panic")
	case "cookies":
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Cookies: []string{"a=1; Path=/", "b=2; HttpOnly"},
			Headers: map[string]string{"X-Test": "yes"}, Body: "ok"}, nil
	case "binary":
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body: "AAEC/w==", IsBase64Encoded: true}, nil
	case "raw":
		return map[string]any{"hello": "world"}, nil
	}
	if len(parts) == 2 && parts[0] == "sleep" {
		var ms int
		fmt.Sscan(parts[1], &ms)
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	body, _ := json.Marshal(map[string]any{"event": ev, "pid": os.Getpid()})
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)}, nil
}

func env() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}
