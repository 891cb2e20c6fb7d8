// Package invokeapi serves the Lambda Invoke API
// (POST /2015-03-31/functions/{name}/invocations) for the local stack, so
// `aws lambda invoke --endpoint-url ...` and the SDKs' Invoke reach the
// locally running functions. It also serves the local stack's own
// /_local/schedules endpoints for firing a schedule on request.
package invokeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/infra/local/sandbox"
)

// MaxPayloadBytes is Lambda's limit on a synchronous request payload.
const MaxPayloadBytes = 6 * 1024 * 1024

// Invoker runs one function.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (sandbox.Result, error)
}

// Backend is what the API needs from the stack.
type Backend interface {
	// Function finds a function by logical ID or function name.
	Function(name string) (Invoker, bool)
	// FireSchedule runs a schedule's target now, as the scheduler would.
	FireSchedule(ctx context.Context, name string) (sandbox.Result, error)
	// Schedules lists the schedules with their next fire time.
	Schedules() []ScheduleInfo
}

// ScheduleInfo describes one schedule for GET /_local/schedules.
type ScheduleInfo struct {
	Name       string    `json:"name"`
	Expression string    `json:"expression"`
	Timezone   string    `json:"timezone"`
	Enabled    bool      `json:"enabled"`
	Next       time.Time `json:"next,omitzero"`
}

// Handler returns the API's http.Handler. log receives one line per call.
func Handler(b Backend, region, account string, log io.Writer) http.Handler {
	a := &api{b: b, region: region, account: account, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", a.invoke)
	mux.HandleFunc("GET /_local/schedules", a.listSchedules)
	mux.HandleFunc("POST /_local/schedules/{function}/{event}", a.fire)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAWSError(w, http.StatusNotFound, "UnknownOperationException", "the local stack serves only Invoke")
	})
	return mux
}

type api struct {
	b       Backend
	region  string
	account string
	log     io.Writer
}

// functionName takes the name forms Lambda accepts (name, name:qualifier,
// full or partial ARN) and returns the bare name.
func functionName(raw string) string {
	if i := strings.Index(raw, ":function:"); i >= 0 {
		raw = raw[i+len(":function:"):]
	}
	name, _, _ := strings.Cut(raw, ":")
	return name
}

func (a *api) invoke(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := functionName(r.PathValue("name"))
	fn, ok := a.b.Function(name)
	if !ok {
		writeAWSError(w, http.StatusNotFound, "ResourceNotFoundException",
			fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s", a.region, a.account, name))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err != nil {
		writeAWSError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	if len(payload) > MaxPayloadBytes {
		writeAWSError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayloadBytes))
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		writeAWSError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}

	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
	case "Event":
		go func() {
			res, err := fn.Invoke(context.Background(), payload)
			a.logLine(start, name, "Event", res, err)
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		writeAWSError(w, http.StatusBadRequest, "InvalidParameterValueException", "unknown invocation type "+typ)
		return
	}

	res, err := fn.Invoke(r.Context(), payload)
	a.logLine(start, name, "RequestResponse", res, err)
	if err != nil {
		writeAWSError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		return
	}
	writeResult(w, res)
}

func writeResult(w http.ResponseWriter, res sandbox.Result) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	h.Set("X-Amzn-Requestid", res.RequestID)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

func (a *api) logLine(start time.Time, name, typ string, res sandbox.Result, err error) {
	if a.log == nil {
		return
	}
	status := "ok"
	switch {
	case err != nil:
		status = "failed: " + err.Error()
	case res.FunctionError != "":
		status = "function error " + res.ErrorType
	}
	temp := "warm"
	if res.Cold {
		temp = "cold"
	}
	fmt.Fprintf(a.log, "%s %-22s invoke %-15s %s %6dms %s\n", start.Format("15:04:05"), name, typ, status, time.Since(start).Milliseconds(), temp)
}

func (a *api) listSchedules(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a.b.Schedules())
}

func (a *api) fire(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := r.PathValue("function") + "/" + r.PathValue("event")
	res, err := a.b.FireSchedule(r.Context(), name)
	a.logLine(start, name, "schedule", res, err)
	if err != nil {
		writeAWSError(w, http.StatusNotFound, "ResourceNotFoundException", err.Error())
		return
	}
	writeResult(w, res)
}

// writeAWSError writes an error the AWS SDKs and CLI understand: the type in
// X-Amzn-ErrorType and a JSON body with the message.
func writeAWSError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg, "__type": typ})
}
