// Package notify delivers one-time codes and links: mail through SES, SMS
// through SNS, and voice calls through the AWS End User Messaging SMS and
// Voice v2 API (SendVoiceMessage). Messages are in Japanese.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	vtypes "github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2/types"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/gmis-oss/gmis/shared/auth"
)

// Mailer is the SES call used.
type Mailer interface {
	SendEmail(ctx context.Context, in *ses.SendEmailInput, opts ...func(*ses.Options)) (*ses.SendEmailOutput, error)
}

// SMSSender is the SNS call used.
type SMSSender interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Caller is the voice call used.
type Caller interface {
	SendVoiceMessage(ctx context.Context, in *pinpointsmsvoicev2.SendVoiceMessageInput, opts ...func(*pinpointsmsvoicev2.Options)) (*pinpointsmsvoicev2.SendVoiceMessageOutput, error)
}

// Config says who messages come from.
type Config struct {
	MailFrom     string // a verified SES identity
	SystemName   string // shown in messages; default 医療機関等情報支援システム
	VoiceOrigin  string // origination number or pool for voice calls; "" when the deployment has none
	VoiceID      string // Polly voice; default TAKUMI (Japanese)
	CodeValidMin int    // minutes a code is valid, quoted in messages; default 5
}

// Notifier implements auth.Notifier.
type Notifier struct {
	mail  Mailer
	sms   SMSSender
	voice Caller
	cfg   Config
}

var _ auth.Notifier = (*Notifier)(nil)

// New returns a Notifier.
func New(mail Mailer, sms SMSSender, voice Caller, cfg Config) *Notifier {
	if cfg.SystemName == "" {
		cfg.SystemName = "医療機関等情報支援システム"
	}
	if cfg.VoiceID == "" {
		cfg.VoiceID = "TAKUMI"
	}
	if cfg.CodeValidMin == 0 {
		cfg.CodeValidMin = 5
	}
	return &Notifier{mail: mail, sms: sms, voice: voice, cfg: cfg}
}

// CanCall reports whether codes can go by voice call: only a deployment
// given an origination identity (VoiceOriginationIdentity) may place calls.
func (n *Notifier) CanCall() bool { return n.cfg.VoiceOrigin != "" }

// SendCode sends a one-time code by method to destination (a mail address
// or an E.164 number).
func (n *Notifier) SendCode(ctx context.Context, method auth.Method, destination, code string) error {
	switch method {
	case auth.MethodMail:
		body := fmt.Sprintf("%s の認証コードは %s です。\n有効期限は%d分です。\n\nこのメールに心当たりがない場合は、第三者がログインを試みている可能性があります。パスワードを変更してください。\n",
			n.cfg.SystemName, code, n.cfg.CodeValidMin)
		return n.Mail(ctx, destination, fmt.Sprintf("【%s】認証コード", n.cfg.SystemName), body)
	case auth.MethodSMS:
		_, err := n.sms.Publish(ctx, &sns.PublishInput{
			PhoneNumber: aws.String(destination),
			Message:     aws.String(fmt.Sprintf("%s 認証コード: %s (%d分間有効)", n.cfg.SystemName, code, n.cfg.CodeValidMin)),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
			},
		})
		if err != nil {
			return fmt.Errorf("sns publish: %w", err)
		}
		return nil
	case auth.MethodVoice:
		if !n.CanCall() || n.voice == nil {
			return errors.New("send voice message: voice calls are not configured (VoiceOriginationIdentity is empty)")
		}
		// Digits are read one by one, twice, so they survive a bad line.
		spoken := strings.Join(strings.Split(code, ""), "、")
		msg := fmt.Sprintf("%sです。認証コードは、%s。繰り返します。%s。です。", n.cfg.SystemName, spoken, spoken)
		_, err := n.voice.SendVoiceMessage(ctx, &pinpointsmsvoicev2.SendVoiceMessageInput{
			DestinationPhoneNumber: aws.String(destination),
			OriginationIdentity:    aws.String(n.cfg.VoiceOrigin),
			MessageBody:            aws.String(msg),
			MessageBodyTextType:    vtypes.VoiceMessageBodyTextTypeText,
			VoiceId:                vtypes.VoiceId(n.cfg.VoiceID),
		})
		if err != nil {
			return fmt.Errorf("send voice message: %w", err)
		}
		return nil
	}
	return fmt.Errorf("no delivery for method %q", method)
}

// SendResetLink mails a password reset link.
func (n *Notifier) SendResetLink(ctx context.Context, mail, link string) error {
	body := fmt.Sprintf("%s のパスワード再設定を受け付けました。\n\n次のリンクから新しいパスワードを設定してください（30分間・1回のみ有効）。\n%s\n\nお心当たりがない場合は、このメールを破棄してください。パスワードは変更されません。\n",
		n.cfg.SystemName, link)
	return n.Mail(ctx, mail, fmt.Sprintf("【%s】パスワード再設定のご案内", n.cfg.SystemName), body)
}

// Mail sends a plain-text mail.
func (n *Notifier) Mail(ctx context.Context, to, subject, body string) error {
	_, err := n.mail.SendEmail(ctx, &ses.SendEmailInput{
		Source:      aws.String(n.cfg.MailFrom),
		Destination: &sestypes.Destination{ToAddresses: []string{to}},
		Message: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String(body), Charset: aws.String("UTF-8")}},
		},
	})
	if err != nil {
		return fmt.Errorf("ses send: %w", err)
	}
	return nil
}
