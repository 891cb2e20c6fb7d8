package services

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	vtypes "github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2/types"
)

// TestVoiceStandIn reaches the stand-in the way a function does, through
// the SDK's standard endpoint variable, and reads the message back from
// its listing.
func TestVoiceStandIn(t *testing.T) {
	v, err := StartVoice()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !strings.HasPrefix(v.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %s, want a loopback address", v.Endpoint)
	}
	for _, kv := range (Endpoints{DynamoDB: "http://127.0.0.1:1", Moto: "http://127.0.0.1:1", Voice: v.Endpoint, Region: "ap-northeast-1"}).Env() {
		k, val, _ := strings.Cut(kv, "=")
		t.Setenv(k, val)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := pinpointsmsvoicev2.NewFromConfig(cfg)
	ctx := context.Background()

	out, err := client.SendVoiceMessage(ctx, &pinpointsmsvoicev2.SendVoiceMessageInput{
		DestinationPhoneNumber: aws.String("+819012345678"),
		OriginationIdentity:    aws.String("+815000000000"),
		MessageBody:            aws.String("認証コードは、1、2、3、4、5、6。"),
		MessageBodyTextType:    vtypes.VoiceMessageBodyTextTypeText,
		VoiceId:                vtypes.VoiceIdTakumi,
	})
	if err != nil {
		t.Fatalf("SendVoiceMessage: %v", err)
	}

	got, err := ReadVoice(ctx, v.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d messages recorded, want 1: %+v", len(got), got)
	}
	m := got[0]
	if m.MessageID != aws.ToString(out.MessageId) || m.DestinationPhoneNumber != "+819012345678" ||
		m.OriginationIdentity != "+815000000000" || m.MessageBody != "認証コードは、1、2、3、4、5、6。" || m.VoiceID != "TAKUMI" {
		t.Errorf("recorded %+v, answered MessageId %s", m, aws.ToString(out.MessageId))
	}

	t.Run("refuses what AWS refuses", func(t *testing.T) {
		for name, in := range map[string]*pinpointsmsvoicev2.SendVoiceMessageInput{
			"no origination identity": {DestinationPhoneNumber: aws.String("+819012345678"), OriginationIdentity: aws.String(""), MessageBody: aws.String("x")},
			"not E.164":               {DestinationPhoneNumber: aws.String("09012345678"), OriginationIdentity: aws.String("+815000000000"), MessageBody: aws.String("x")},
		} {
			_, err := client.SendVoiceMessage(ctx, in)
			// smithy's typed APIError would be a new direct dependency.
			if err == nil || !strings.Contains(err.Error(), "ValidationException") {
				t.Errorf("%s: err = %v, want a ValidationException", name, err)
			}
		}
		if got, _ := ReadVoice(ctx, v.Endpoint); len(got) != 1 {
			t.Errorf("%d messages recorded, want only the valid one", len(got))
		}
	})
}
