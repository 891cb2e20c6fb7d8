package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/infra/local/stack"
	"github.com/gmis-oss/gmis/infra/local/template"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
)

// localAccounts opens accounts on a running stack's DynamoDB.
type localAccounts struct {
	svc   *auth.Service
	db    *dynamodb.Client
	users string // the users table
}

// accountService builds the account service against a running stack's
// DynamoDB, with the table names and secret the template gives the auth
// function. Accounts are created the way an administrator creates them:
// generated ID and initial password, forced change at first login.
func accountService(c common) (localAccounts, error) {
	state, err := stack.ReadState(c.stateDir)
	if err != nil {
		return localAccounts{}, fmt.Errorf("no running local stack in %s (start it with make local, and give make admin and make demo the same STATE_DIR): %w", c.stateDir, err)
	}
	tmpl, err := stack.LoadTemplate(c.root, "", c.stateDir, c.params)
	if err != nil {
		return localAccounts{}, err
	}
	var fn *template.Function
	for _, f := range tmpl.Functions {
		if f.LogicalID == "AuthFunction" {
			fn = f
		}
	}
	if fn == nil {
		return localAccounts{}, errors.New("template.yaml has no AuthFunction")
	}
	db := state.Endpoints.DynamoDBClient()
	store := dynamo.NewAuthStore(db, dynamo.AuthTables{Users: fn.Env["USERS_TABLE"], Sessions: fn.Env["SESSIONS_TABLE"],
		AuthState: fn.Env["AUTH_STATE_TABLE"], Audit: fn.Env["AUDIT_TABLE"]})
	svc, err := auth.NewService(store, dynamo.NewAuditLog(db, fn.Env["AUDIT_TABLE"]), nil, []byte(fn.Env["AUTH_SECRET"]), auth.Config{})
	if err != nil {
		return localAccounts{}, err
	}
	return localAccounts{svc: svc, db: db, users: fn.Env["USERS_TABLE"]}, nil
}

// withMail returns the IDs and roles of the accounts with a mail address.
// The users table has no index on mail, and needs none for this: a Scan of
// the local table by a local command, never a request path.
func (la localAccounts) withMail(ctx context.Context, mail string) ([]auth.User, error) {
	var found []auth.User
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(la.users),
		FilterExpression:          aws.String("mail = :m"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": &types.AttributeValueMemberS{Value: mail}},
		ProjectionExpression:      aws.String("userId, #r, destination"),
		ExpressionAttributeNames:  map[string]string{"#r": "role"},
	}
	for {
		out, err := la.db.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("look for accounts of %s: %w", mail, err)
		}
		for _, it := range out.Items {
			var u struct{ UserID, Role, Destination string }
			if err := attributevalue.UnmarshalMap(it, &u); err != nil {
				return nil, err
			}
			found = append(found, auth.User{ID: u.UserID, Role: authz.Role(u.Role), Destination: u.Destination})
		}
		if len(out.LastEvaluatedKey) == 0 {
			return found, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// adminCmd creates the first national administrator.
func adminCmd(args []string) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	var c common
	c.register(fs)
	mail := fs.String("mail", "", "the administrator's mail address: one-time codes go there (required)")
	name := fs.String("name", "システム管理者", "the administrator's name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *mail == "" {
		return errors.New("usage: local admin --mail you@example.jp [--name NAME]")
	}
	if err := c.resolve(); err != nil {
		return err
	}
	la, err := accountService(c)
	if err != nil {
		return err
	}
	u, initial, err := la.svc.CreateAccount(context.Background(), "local-admin-command", auth.NewAccount{
		Name: *name, Role: authz.National, Mail: *mail, Method: auth.MethodMail})
	if err != nil {
		return err
	}
	fmt.Printf("national administrator created\n  user ID:          %s\n  initial password: %s\n  codes go to:      %s\n", u.ID, initial, u.Mail)
	fmt.Fprintln(os.Stderr, "The initial password is shown only now; it must be changed at first login.")
	return nil
}

// demoAccounts are one account per role, in fictional jurisdictions:
// Tokyo (13), its health centre 1301 and institution 1310000001.
var demoAccounts = []auth.NewAccount{
	{Name: "厚労 太郎", Role: authz.National, Mail: "national@demo.gmis.example.jp", Method: auth.MethodMail},
	{Name: "東京 花子", Role: authz.PrefectureAdmin, PrefectureCode: "13", Mail: "pref13@demo.gmis.example.jp", Method: auth.MethodMail},
	{Name: "保健 一郎", Role: authz.HealthCenterAdmin, PrefectureCode: "13", HealthCenterCode: "1301",
		Mail: "hc1301@demo.gmis.example.jp", Phone: "090-0000-1301", Method: auth.MethodSMS},
	{Name: "病院 管理子", Role: authz.InstitutionManager, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301",
		Mail: "manager@demo.gmis.example.jp", Method: auth.MethodMail},
	{Name: "病院 利用者", Role: authz.InstitutionUser, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301",
		Mail: "user@demo.gmis.example.jp", Method: auth.MethodMail},
}

// demoCmd loads one demo user per role. Run again, it opens only the
// accounts that are missing and reports the others, whose passwords it
// cannot know.
func demoCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo-users", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.resolve(); err != nil {
		return err
	}
	la, err := accountService(c)
	if err != nil {
		return err
	}
	ctx := context.Background()
	existed := false
	fmt.Fprintf(out, "%-20s %-12s %-14s %s\n", "role", "user ID", "password", "codes go to")
	for _, a := range demoAccounts {
		existing, err := la.withMail(ctx, a.Mail)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(existing, func(u auth.User) bool { return u.Role == a.Role }); i >= 0 {
			u := existing[i]
			existed = true
			fmt.Fprintf(out, "%-20s %-12s %-14s %s\n", u.Role, u.ID, "(exists)", strings.TrimSpace(u.Destination))
			continue
		}
		u, initial, err := la.svc.CreateAccount(ctx, "local-demo-command", a)
		if err != nil {
			return fmt.Errorf("%s: %w", a.Role, err)
		}
		fmt.Fprintf(out, "%-20s %-12s %-14s %s\n", u.Role, u.ID, initial, strings.TrimSpace(u.Destination))
	}
	fmt.Fprintln(os.Stderr, "Demo passwords are initial ones: change them at first login. One-time codes are on the mailbox page make local printed at start.")
	if existed {
		fmt.Fprintln(os.Stderr, "Accounts that existed keep their passwords: forgotten, reset one (POST /auth/password-reset/request) or start over with make local ARGS=--fresh.")
	}
	return nil
}
