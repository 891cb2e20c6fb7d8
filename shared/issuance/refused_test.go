package issuance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sesError is an error as the SDK returns an SES answer: an API error
// inside an HTTP response error, wrapped by the caller.
func sesError(status int, code string) error {
	return fmt.Errorf("send mail: %w", &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code}}})
}

func TestOnlyAClearRefusalCountsAsNotSent(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"rejected by SES", sesError(400, "MessageRejected"), true},
		{"SES failed on its side", sesError(500, "InternalFailure"), false},
		{"no answer", fmt.Errorf("send mail: %w", context.DeadlineExceeded), false},
		{"connection reset", errors.New("read: connection reset by peer"), false},
	} {
		if got := refused(tc.err); got != tc.want {
			t.Errorf("%s: refused = %v, want %v", tc.name, got, tc.want)
		}
	}
}
