package template

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// realTemplate is the project's SAM template, relative to this package.
const realTemplate = "../../../template.yaml"

func readRealTemplate(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(realTemplate)
	if err != nil {
		t.Fatalf("reading the project template: %v", err)
	}
	return data
}

func mustParse(t *testing.T, data []byte, opts Options) *Template {
	t.Helper()
	tpl, err := Parse(data, opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tpl
}

func findFunction(t *testing.T, tpl *Template, id string) *Function {
	t.Helper()
	for _, f := range tpl.Functions {
		if f.LogicalID == id {
			return f
		}
	}
	t.Fatalf("no function %s; have %v", id, functionIDs(tpl))
	return nil
}

func functionIDs(tpl *Template) []string {
	var ids []string
	for _, f := range tpl.Functions {
		ids = append(ids, f.LogicalID)
	}
	return ids
}

func findTable(t *testing.T, tpl *Template, id string) Table {
	t.Helper()
	for _, tbl := range tpl.Tables {
		if tbl.LogicalID == id {
			return tbl
		}
	}
	t.Fatalf("no table %s; have %v", id, tableIDs(tpl))
	return Table{}
}

func tableIDs(tpl *Template) []string {
	var ids []string
	for _, tbl := range tpl.Tables {
		ids = append(ids, tbl.LogicalID)
	}
	return ids
}

// asJSON renders v for failure messages; the SDK's input types are full of
// pointers that %+v would print as addresses.
func asJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func assertDeepEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, asJSON(got), asJSON(want))
	}
}

func keySchema(pairs ...string) []types.KeySchemaElement {
	var out []types.KeySchemaElement
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(pairs[i]), KeyType: types.KeyType(pairs[i+1])})
	}
	return out
}

func attributes(pairs ...string) []types.AttributeDefinition {
	var out []types.AttributeDefinition
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, types.AttributeDefinition{AttributeName: aws.String(pairs[i]), AttributeType: types.ScalarAttributeType(pairs[i+1])})
	}
	return out
}

// testSecret stands in for the NoEcho parameters a deployment is given.
const testSecret = "test-secret-of-at-least-thirty-two-characters"

// realOptions supplies the real template's NoEcho parameters.
func realOptions(o Options) Options {
	o.Secret = func(string) (string, error) { return testSecret, nil }
	return o
}

func TestParseRealTemplate(t *testing.T) {
	tpl := mustParse(t, readRealTemplate(t), realOptions(Options{}))

	t.Run("HealthFunction", func(t *testing.T) {
		got := findFunction(t, tpl, "HealthFunction")
		want := &Function{
			LogicalID:   "HealthFunction",
			Name:        "gmis-local-health",
			CodeURI:     ".",
			Handler:     "bootstrap",
			Runtime:     "provided.al2023",
			BuildMethod: "makefile",
			Timeout:     5 * time.Second,
			MemoryMB:    128, // the function's own MemorySize wins over Globals' 256
			Env: map[string]string{
				"SYSTEM_TABLE": "gmis-local-system",
				"STAGE":        "local", // merged from Globals
			},
			LogFormat: "JSON",
			LogLevel:  "INFO",
		}
		assertDeepEqual(t, "HealthFunction", got, want)
	})

	t.Run("AuthFunction", func(t *testing.T) {
		got := findFunction(t, tpl, "AuthFunction")
		for k, want := range map[string]string{
			"USERS_TABLE": "gmis-local-users", "AUTH_SECRET": testSecret,
			"ALLOWED_ORIGINS": "http://127.0.0.1:3000,http://localhost:3000", "SESSION_IDLE_TIMEOUT": "3h",
		} {
			if got.Env[k] != want {
				t.Errorf("AuthFunction env %s = %q, want %q", k, got.Env[k], want)
			}
		}
	})

	t.Run("routes", func(t *testing.T) {
		want := Route{
			API:                "HttpApi",
			Function:           "HealthFunction",
			EventName:          "Health",
			Method:             "GET",
			Path:               "/health",
			IntegrationTimeout: 30 * time.Second,
		}
		var found bool
		for _, rt := range tpl.Routes {
			if rt.Key() == "GET /health" {
				found = true
				assertDeepEqual(t, "GET /health", rt, want)
			}
			if rt.API != "HttpApi" {
				t.Errorf("route %s is on API %s, want HttpApi", rt.Key(), rt.API)
			}
		}
		if !found {
			t.Errorf("no GET /health route in %+v", tpl.Routes)
		}
	})

	t.Run("SystemTable", func(t *testing.T) {
		tbl := findTable(t, tpl, "SystemTable")
		want := &dynamodb.CreateTableInput{
			TableName:            aws.String("gmis-local-system"),
			AttributeDefinitions: attributes("pk", "S", "sk", "S"),
			KeySchema:            keySchema("pk", "HASH", "sk", "RANGE"),
			BillingMode:          types.BillingModePayPerRequest,
		}
		assertDeepEqual(t, "SystemTable input", tbl.Input, want)
		if got, want := tbl.TTLAttribute, "expiresAt"; got != want {
			t.Errorf("TTLAttribute = %q, want %q", got, want)
		}
	})

	t.Run("HttpApi CORS", func(t *testing.T) {
		api, ok := tpl.APIs["HttpApi"]
		if !ok {
			t.Fatalf("no API HttpApi; have %v", tpl.APIs)
		}
		want := &CORS{
			// The two defaults of the CommaDelimitedList parameter AllowedOrigins.
			AllowOrigins:     []string{"http://127.0.0.1:3000", "http://localhost:3000"},
			AllowMethods:     []string{"GET", "POST", "PUT", "PATCH", "DELETE"},
			AllowHeaders:     []string{"Content-Type", "Idempotency-Key"},
			ExposeHeaders:    []string{"X-Request-Id", "Retry-After"},
			AllowCredentials: true,
			MaxAge:           600,
		}
		assertDeepEqual(t, "HttpApi CORS", api.CORS, want)
		if _, implicit := tpl.APIs[ImplicitAPI]; implicit {
			t.Errorf("the implicit API %s exists, but every route names HttpApi", ImplicitAPI)
		}
	})

	t.Run("parameters", func(t *testing.T) {
		for name, want := range map[string]string{
			"Stage":          "local",
			"AllowedOrigins": "http://127.0.0.1:3000,http://localhost:3000",
			"MailFrom":       "no-reply@gmis.example.jp",
			"LogLevel":       "INFO",
			"AuthSecret":     testSecret, // NoEcho without default: supplied
		} {
			if got := tpl.Parameters[name]; got != want {
				t.Errorf("parameter %s = %q, want %q", name, got, want)
			}
		}
	})

	t.Run("the jobs sweeper and the SOS rollover are the schedules", func(t *testing.T) {
		want := []Schedule{{Function: "JobsFunction", EventName: "Sweep", Kind: "ScheduleV2", Expression: "rate(5 minutes)",
			Timezone: "UTC", Input: `{"sweep":true}`, Enabled: true},
			{Function: "SosRolloverFunction", EventName: "Close", Kind: "ScheduleV2", Expression: "cron(0 13 ? * MON-FRI *)",
				Timezone: "Asia/Tokyo", Input: `{"scheduledTime":"<aws.scheduler.scheduled-time>"}`, Enabled: true}}
		assertDeepEqual(t, "schedules", tpl.Schedules, want)
	})

	t.Run("uploads bucket", func(t *testing.T) {
		want := []Bucket{{LogicalID: "UploadsBucket", Name: "gmis-local-uploads-123456789012", CORS: []BucketCORSRule{{
			AllowedOrigins: []string{"http://127.0.0.1:3000", "http://localhost:3000"}, AllowedMethods: []string{"PUT"},
			AllowedHeaders: []string{"Content-Type"}, ExposedHeaders: []string{}, MaxAge: 600}}}}
		assertDeepEqual(t, "buckets", tpl.Buckets, want)
		jobs := map[string]string{}
		for _, f := range tpl.Functions {
			if f.LogicalID == "AdminFunction" {
				jobs = f.Env
			}
		}
		if jobs["UPLOADS_BUCKET"] != "gmis-local-uploads-123456789012" || jobs["JOBS_FUNCTION"] != "gmis-local-jobs" {
			t.Errorf("admin function env: bucket %q, jobs function %q", jobs["UPLOADS_BUCKET"], jobs["JOBS_FUNCTION"])
		}
	})
}

func TestParseRealTemplateParameterOverrides(t *testing.T) {
	data := readRealTemplate(t)
	tests := []struct {
		name      string
		params    map[string]string
		wantTable string
		wantFunc  string
		wantStage string
		wantLevel string
	}{
		{"defaults", nil, "gmis-local-system", "gmis-local-health", "local", "INFO"},
		{"Stage=test", map[string]string{"Stage": "test"}, "gmis-test-system", "gmis-test-health", "test", "INFO"},
		{"Stage=prod LogLevel=DEBUG", map[string]string{"Stage": "prod", "LogLevel": "DEBUG"}, "gmis-prod-system", "gmis-prod-health", "prod", "DEBUG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := mustParse(t, data, realOptions(Options{Parameters: tt.params}))
			tbl := findTable(t, tpl, "SystemTable")
			if got := aws.ToString(tbl.Input.TableName); got != tt.wantTable {
				t.Errorf("TableName = %q, want %q", got, tt.wantTable)
			}
			f := findFunction(t, tpl, "HealthFunction")
			if f.Name != tt.wantFunc {
				t.Errorf("function Name = %q, want %q", f.Name, tt.wantFunc)
			}
			if got := f.Env["SYSTEM_TABLE"]; got != tt.wantTable {
				t.Errorf("SYSTEM_TABLE = %q, want %q", got, tt.wantTable)
			}
			if got := f.Env["STAGE"]; got != tt.wantStage {
				t.Errorf("STAGE = %q, want %q", got, tt.wantStage)
			}
			if f.LogLevel != tt.wantLevel {
				t.Errorf("LogLevel = %q, want %q", f.LogLevel, tt.wantLevel)
			}
		})
	}
}

func TestAllowedOriginsOverride(t *testing.T) {
	tpl := mustParse(t, readRealTemplate(t), realOptions(Options{Parameters: map[string]string{
		"AllowedOrigins": "https://a.example.jp, https://b.example.jp",
	}}))
	got := tpl.APIs["HttpApi"].CORS.AllowOrigins
	want := []string{"https://a.example.jp", "https://b.example.jp"}
	assertDeepEqual(t, "AllowOrigins", got, want)
}

// The template is the only source of routes: without the function's
// HttpApi event its route is gone, and the function stays.
func TestRealTemplateWithoutHealthRoute(t *testing.T) {
	src := string(readRealTemplate(t))
	fn := strings.Index(src, "\n  HealthFunction:\n")
	start := strings.Index(src[fn+1:], "      Events:\n")
	end := strings.Index(src, "\nOutputs:")
	if fn < 0 || start < 0 || end < fn+1+start {
		t.Fatalf("cannot find HealthFunction's Events block in %s", realTemplate)
	}
	start += fn + 1
	cut := src[:start] + src[end+1:]
	if strings.Contains(cut, "/health\n") {
		t.Fatalf("the copy still declares /health:\n%s", cut)
	}

	tpl := mustParse(t, []byte(cut), realOptions(Options{}))
	for _, rt := range tpl.Routes {
		if rt.Function == "HealthFunction" || rt.Path == "/health" {
			t.Errorf("route %s of %s is still there", rt.Key(), rt.Function)
		}
	}
	findFunction(t, tpl, "HealthFunction")
}

func TestLoad(t *testing.T) {
	t.Run("real template", func(t *testing.T) {
		tpl, err := Load(realTemplate, realOptions(Options{}))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		findFunction(t, tpl, "HealthFunction")
	})
	t.Run("error names the file", func(t *testing.T) {
		path := t.TempDir() + "/bad.yaml"
		if err := os.WriteFile(path, []byte("Resources: {}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, Options{})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no Resources") {
			t.Errorf("Load error = %v, want one naming %s and the missing Resources", err, path)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := Load(t.TempDir()+"/nope.yaml", Options{}); !os.IsNotExist(err) {
			t.Errorf("Load error = %v, want a not-exist error", err)
		}
	})
}

// inlineTemplate exercises intrinsic functions, conditions, implicit APIs,
// $default routes and schedules.
const inlineTemplate = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31

Parameters:
  Stage:
    Type: String
    Default: dev
  Prefix:
    Type: String
    Default: app
  Zones:
    Type: CommaDelimitedList
    Default: "z-a,z-b,z-c"

Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Equals [dev, !Ref Stage]
  NotProd: !Not [!Condition IsProd]
  NotDev: !Not [!Equals [!Ref Stage, dev]]
  DevAndNotProd: !And [!Condition IsDev, !Condition NotProd]
  ProdAndDev: !And [!Condition IsProd, !Condition IsDev]
  ProdOrDev: !Or [!Condition IsProd, !Condition IsDev]
  ProdOrNotDev: !Or [!Condition IsProd, !Condition NotDev]

Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    Timeout: 10
    Environment:
      Variables:
        FROM_GLOBALS: "yes"
  HttpApi:
    CorsConfiguration:
      AllowOrigins: [https://app.example.jp]
      AllowMethods: [GET, POST]
      AllowCredentials: false
      MaxAge: 60

Resources:
  DataTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${Prefix}-${Stage}-data"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: gsi1pk, AttributeType: S}
        - {AttributeName: gsi1sk, AttributeType: N}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: gsi1
          KeySchema:
            - {AttributeName: gsi1pk, KeyType: HASH}
            - {AttributeName: gsi1sk, KeyType: RANGE}
          Projection:
            ProjectionType: INCLUDE
            NonKeyAttributes: [title, status]
      DeletionProtectionEnabled: !If [IsProd, true, !Ref AWS::NoValue]
      TimeToLiveSpecification:
        AttributeName: ttl
        Enabled: false

  UnnamedTable:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      BillingMode: PAY_PER_REQUEST

  ProdOnlyTable:
    Type: AWS::DynamoDB::Table
    Condition: IsProd
    Properties:
      TableName: !Sub "${Prefix}-audit"
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      BillingMode: PAY_PER_REQUEST

  NeverFunction:
    Type: AWS::Serverless::Function
    Condition: ProdAndDev
    Properties:
      CodeUri: ./never
      Events:
        Clash:
          Type: HttpApi
          Properties:
            Path: /items/{proxy+}
            Method: ANY

  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./worker
      MemorySize: !If [IsProd, 1024, 512]
      ReservedConcurrentExecutions: 2
      Environment:
        Variables:
          SUB_PARAM: !Sub "${Stage}"
          SUB_REGION: !Sub "${AWS::Region}"
          SUB_RESOURCE: !Sub "${DataTable}"
          SUB_ARN: !Sub "${DataTable.Arn}"
          SUB_LITERAL: !Sub "${!Literal}-${Stage}"
          SUB_VARS: !Sub
            - "${Name}/${Stage}/${AWS::AccountId}/${Count}"
            - Name: !Ref DataTable
              Count: 3
          SUB_STACK: !Sub "${AWS::StackName}-${AWS::Partition}"
          UNNAMED: !Ref UnnamedTable
          GETATT: !GetAtt DataTable.Arn
          GETATT_LONG:
            Fn::GetAtt: [DataTable, Arn]
          JOIN: !Join ["-", [!Ref Prefix, !Ref Stage, x]]
          JOIN_LIST: !Join ["|", !Ref Zones]
          SELECT_SPLIT: !Select [1, !Split [",", "x,y,z"]]
          SELECT_LIST: !Select ["2", !Ref Zones]
          IF_PROD: !If [IsProd, prod-value, other-value]
          IF_NOT_PROD: !If [NotProd, t, f]
          IF_NOT_DEV: !If [NotDev, t, f]
          IF_AND: !If [DevAndNotProd, t, f]
          IF_AND_FALSE: !If [ProdAndDev, t, f]
          IF_OR: !If [ProdOrDev, t, f]
          IF_OR_FALSE: !If [ProdOrNotDev, t, f]
          GONE: !If [IsProd, here, !Ref AWS::NoValue]
          ALSO_GONE: !Ref AWS::NoValue
      Events:
        Any:
          Type: HttpApi
          Properties:
            Path: /items/{proxy+}
            Method: any
            TimeoutInMillis: 2500
        Fallback:
          Type: HttpApi
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 3 * * ? *)
            ScheduleExpressionTimezone: Asia/Tokyo
            Input: '{"job":"nightly"}'
            State: DISABLED
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
`

var inlineOpts = Options{StackName: "teststack", Region: "us-west-2", AccountID: "111122223333"}

func TestParseInlineTemplate(t *testing.T) {
	tpl := mustParse(t, []byte(inlineTemplate), inlineOpts)
	const arn = "arn:aws:dynamodb:us-west-2:111122223333:table/app-dev-data"

	t.Run("resources left out by a false Condition", func(t *testing.T) {
		assertDeepEqual(t, "functions", functionIDs(tpl), []string{"WorkerFunction"})
		assertDeepEqual(t, "tables", tableIDs(tpl), []string{"DataTable", "UnnamedTable"})
	})

	t.Run("intrinsics", func(t *testing.T) {
		env := findFunction(t, tpl, "WorkerFunction").Env
		tests := []struct {
			name, key, want string
		}{
			{"Sub parameter", "SUB_PARAM", "dev"},
			{"Sub pseudo parameter", "SUB_REGION", "us-west-2"},
			{"Sub resource is its name", "SUB_RESOURCE", "app-dev-data"},
			{"Sub resource attribute", "SUB_ARN", arn},
			{"Sub ${!Literal}", "SUB_LITERAL", "${Literal}-dev"},
			{"Sub with variables", "SUB_VARS", "app-dev-data/dev/111122223333/3"},
			{"Sub stack name and partition", "SUB_STACK", "teststack-aws"},
			{"Ref table without TableName", "UNNAMED", "teststack-UnnamedTable"},
			{"GetAtt short form", "GETATT", arn},
			{"GetAtt long form", "GETATT_LONG", arn},
			{"Join", "JOIN", "app-dev-x"},
			{"Join list parameter", "JOIN_LIST", "z-a|z-b|z-c"},
			{"Select Split", "SELECT_SPLIT", "y"},
			{"Select list parameter", "SELECT_LIST", "z-c"},
			{"If false branch", "IF_PROD", "other-value"},
			{"Not Condition", "IF_NOT_PROD", "t"},
			{"Not Equals", "IF_NOT_DEV", "f"},
			{"And true", "IF_AND", "t"},
			{"And false", "IF_AND_FALSE", "f"},
			{"Or true", "IF_OR", "t"},
			{"Or false", "IF_OR_FALSE", "f"},
			{"Globals variables merged", "FROM_GLOBALS", "yes"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, ok := env[tt.key]
				if !ok {
					t.Fatalf("%s is not set; env = %v", tt.key, env)
				}
				if got != tt.want {
					t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
				}
			})
		}
		for _, key := range []string{"GONE", "ALSO_GONE"} {
			if v, ok := env[key]; ok {
				t.Errorf("%s = %q, want it removed by AWS::NoValue", key, v)
			}
		}
	})

	t.Run("function", func(t *testing.T) {
		f := findFunction(t, tpl, "WorkerFunction")
		if f.Name != "teststack-WorkerFunction" {
			t.Errorf("Name = %q, want teststack-WorkerFunction", f.Name)
		}
		if f.MemoryMB != 512 {
			t.Errorf("MemoryMB = %d, want 512 (from !If)", f.MemoryMB)
		}
		if f.Timeout != 10*time.Second {
			t.Errorf("Timeout = %v, want 10s from Globals", f.Timeout)
		}
		if f.ReservedConcurrency != 2 {
			t.Errorf("ReservedConcurrency = %d, want 2", f.ReservedConcurrency)
		}
		if f.CodeURI != "./worker" || f.Handler != "bootstrap" || f.Runtime != "provided.al2023" {
			t.Errorf("CodeURI, Handler, Runtime = %q, %q, %q", f.CodeURI, f.Handler, f.Runtime)
		}
	})

	t.Run("DataTable input", func(t *testing.T) {
		tbl := findTable(t, tpl, "DataTable")
		want := &dynamodb.CreateTableInput{
			TableName:            aws.String("app-dev-data"),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: attributes("pk", "S", "sk", "S", "gsi1pk", "S", "gsi1sk", "N"),
			KeySchema:            keySchema("pk", "HASH", "sk", "RANGE"),
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
				IndexName: aws.String("gsi1"),
				KeySchema: keySchema("gsi1pk", "HASH", "gsi1sk", "RANGE"),
				Projection: &types.Projection{
					ProjectionType:   types.ProjectionTypeInclude,
					NonKeyAttributes: []string{"title", "status"},
				},
			}},
			// DeletionProtectionEnabled is AWS::NoValue outside prod.
		}
		assertDeepEqual(t, "DataTable input", tbl.Input, want)
		if tbl.TTLAttribute != "" {
			t.Errorf("TTLAttribute = %q, want \"\" (Enabled: false)", tbl.TTLAttribute)
		}
	})

	t.Run("routes", func(t *testing.T) {
		want := []Route{
			{API: ImplicitAPI, Function: "WorkerFunction", EventName: "Any", Method: "ANY", Path: "/items/{proxy+}", IntegrationTimeout: 2500 * time.Millisecond},
			{API: ImplicitAPI, Function: "WorkerFunction", EventName: "Fallback", IntegrationTimeout: 30 * time.Second},
		}
		assertDeepEqual(t, "routes", tpl.Routes, want)
		wantKeys := []string{"ANY /items/{proxy+}", "$default"}
		for i, rt := range tpl.Routes {
			if i < len(wantKeys) && rt.Key() != wantKeys[i] {
				t.Errorf("route %d Key() = %q, want %q", i, rt.Key(), wantKeys[i])
			}
		}
	})

	t.Run("implicit API CORS from Globals", func(t *testing.T) {
		api, ok := tpl.APIs[ImplicitAPI]
		if !ok {
			t.Fatalf("no API %s; have %v", ImplicitAPI, tpl.APIs)
		}
		want := &HTTPAPI{LogicalID: ImplicitAPI, CORS: &CORS{
			AllowOrigins:  []string{"https://app.example.jp"},
			AllowMethods:  []string{"GET", "POST"},
			AllowHeaders:  []string{},
			ExposeHeaders: []string{},
			MaxAge:        60,
		}}
		assertDeepEqual(t, "implicit API", api, want)
		if len(tpl.APIs) != 1 {
			t.Errorf("APIs = %v, want only %s", tpl.APIs, ImplicitAPI)
		}
	})

	t.Run("schedules", func(t *testing.T) {
		want := []Schedule{
			{Function: "WorkerFunction", EventName: "Hourly", Kind: "Schedule", Expression: "rate(1 hour)", Timezone: "UTC", Enabled: true},
			{Function: "WorkerFunction", EventName: "Nightly", Kind: "ScheduleV2", Expression: "cron(0 3 * * ? *)", Timezone: "Asia/Tokyo", Input: `{"job":"nightly"}`, Enabled: false},
		}
		assertDeepEqual(t, "schedules", tpl.Schedules, want)
		if len(tpl.Schedules) == 2 {
			if got := tpl.Schedules[1].Name(); got != "WorkerFunction/Nightly" {
				t.Errorf("Name() = %q, want WorkerFunction/Nightly", got)
			}
		}
	})
}

// With Stage=prod the conditions flip: the prod-only table appears, !If takes
// its true branch and the AWS::NoValue property gets its value.
func TestParseInlineTemplateProd(t *testing.T) {
	opts := inlineOpts
	opts.Parameters = map[string]string{"Stage": "prod"}
	tpl := mustParse(t, []byte(inlineTemplate), opts)

	assertDeepEqual(t, "tables", tableIDs(tpl), []string{"DataTable", "ProdOnlyTable", "UnnamedTable"})
	if got := aws.ToString(findTable(t, tpl, "ProdOnlyTable").Input.TableName); got != "app-audit" {
		t.Errorf("ProdOnlyTable name = %q, want app-audit", got)
	}
	if got := findTable(t, tpl, "DataTable").Input.DeletionProtectionEnabled; got == nil || !*got {
		t.Errorf("DeletionProtectionEnabled = %v, want true", got)
	}
	f := findFunction(t, tpl, "WorkerFunction")
	if f.MemoryMB != 1024 {
		t.Errorf("MemoryMB = %d, want 1024", f.MemoryMB)
	}
	tests := map[string]string{
		"IF_PROD":     "prod-value",
		"IF_NOT_PROD": "f",
		"IF_NOT_DEV":  "t",
		"IF_AND":      "f",
		"IF_OR":       "t",
		"IF_OR_FALSE": "t",
		"GONE":        "here",
		"SUB_ARN":     "arn:aws:dynamodb:us-west-2:111122223333:table/app-prod-data",
	}
	for _, key := range sortedKeys(tests) {
		if got := f.Env[key]; got != tests[key] {
			t.Errorf("%s = %q, want %q", key, got, tests[key])
		}
	}
}

func TestDefaultOptions(t *testing.T) {
	const src = `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          WHERE: !Sub "${AWS::StackName} ${AWS::Region} ${AWS::AccountId} ${AWS::URLSuffix}"
          STACK_ID: !Ref AWS::StackId
          ARN: !GetAtt Fn.Arn
`
	f := findFunction(t, mustParse(t, []byte(src), Options{}), "Fn")
	want := &Function{
		LogicalID: "Fn",
		Name:      "gmis-local-Fn",
		Timeout:   3 * time.Second,
		MemoryMB:  128,
		Env: map[string]string{
			"WHERE":    "gmis-local ap-northeast-1 123456789012 amazonaws.com",
			"STACK_ID": "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/gmis-local/local",
			"ARN":      "arn:aws:lambda:ap-northeast-1:123456789012:function:gmis-local-Fn",
		},
	}
	assertDeepEqual(t, "Fn", f, want)
}

func TestCORSTrue(t *testing.T) {
	const src = `
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: true
  Plain:
    Type: AWS::Serverless::HttpApi
`
	tpl := mustParse(t, []byte(src), Options{})
	assertDeepEqual(t, "Api CORS", tpl.APIs["Api"].CORS, &CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}})
	if c := tpl.APIs["Plain"].CORS; c != nil {
		t.Errorf("Plain CORS = %+v, want nil", c)
	}
}

// fnWith is a template with one function whose Properties are props
// (indented by six spaces).
func fnWith(props string) string {
	return "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n" + props
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		params  map[string]string
		wantErr []string // substrings of the error
	}{
		{
			name: "override of an undeclared parameter",
			src: `
Parameters:
  Stage: {Type: String, Default: dev}
` + fnWith(""),
			params:  map[string]string{"Nope": "x"},
			wantErr: []string{"parameter Nope is not declared in the template"},
		},
		{
			name: "parameter without Default",
			src: `
Parameters:
  Secret: {Type: String}
` + fnWith(""),
			wantErr: []string{"parameter Secret has no default"},
		},
		{
			name: "override outside AllowedValues",
			src: `
Parameters:
  LogLevel: {Type: String, Default: INFO, AllowedValues: [DEBUG, INFO]}
` + fnWith(""),
			params:  map[string]string{"LogLevel": "TRACE"},
			wantErr: []string{"parameter LogLevel", `"TRACE" is not one of its AllowedValues`},
		},
		{
			name: "default outside AllowedValues",
			src: `
Parameters:
  LogLevel: {Type: String, Default: LOUD, AllowedValues: [DEBUG, INFO]}
` + fnWith(""),
			wantErr: []string{"parameter LogLevel", `"LOUD" is not one of its AllowedValues`},
		},
		{
			name: "duplicate route",
			src: `
Resources:
  AFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get: {Type: HttpApi, Properties: {Path: /items, Method: GET}}
  BFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Read: {Type: HttpApi, Properties: {Path: /items, Method: get}}
`,
			wantErr: []string{"route GET /items is declared by both AFunction/Get and BFunction/Read"},
		},
		{
			name: "duplicate $default route",
			src: `
Resources:
  AFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        One: {Type: HttpApi}
        Two: {Type: HttpApi}
`,
			wantErr: []string{"route $default is declared by both AFunction/One and AFunction/Two"},
		},
		{
			name:    "Timeout 0",
			src:     fnWith("      Timeout: 0\n"),
			wantErr: []string{"resource Fn", "Timeout 0: must be 1 to 900 seconds"},
		},
		{
			name:    "Timeout 901",
			src:     fnWith("      Timeout: 901\n"),
			wantErr: []string{"resource Fn", "Timeout 901: must be 1 to 900 seconds"},
		},
		{
			name:    "Timeout not a number",
			src:     fnWith("      Timeout: soon\n"),
			wantErr: []string{"resource Fn", "Timeout soon: must be 1 to 900 seconds"},
		},
		{
			name:    "MemorySize too small",
			src:     fnWith("      MemorySize: 64\n"),
			wantErr: []string{"MemorySize 64: must be 128 to 10240 MB"},
		},
		{
			name:    "Ref to a missing resource",
			src:     fnWith("      Environment:\n        Variables:\n          T: !Ref MissingTable\n"),
			wantErr: []string{"resource Fn", "Ref MissingTable: no such parameter or resource"},
		},
		{
			name:    "GetAtt of a missing resource",
			src:     fnWith("      Environment:\n        Variables:\n          T: !GetAtt MissingTable.Arn\n"),
			wantErr: []string{"Fn::GetAtt MissingTable.Arn: no such resource"},
		},
		{
			name:    "Sub of a missing name",
			src:     fnWith("      Environment:\n        Variables:\n          T: !Sub \"x-${Missing}\"\n"),
			wantErr: []string{"Fn::Sub ${Missing}", "no such parameter or resource"},
		},
		{
			name: "circular Ref between two tables' TableName",
			src: `
Resources:
  ATable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${BTable}-a"
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  BTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Ref ATable
      KeySchema: [{AttributeName: id, KeyType: HASH}]
`,
			wantErr: []string{"resource ATable", "circular reference"},
		},
		{
			name: "table without KeySchema",
			src: `
Resources:
  ATable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: a
`,
			wantErr: []string{"resource ATable", "table a has no KeySchema"},
		},
		{
			name:    "PayloadFormatVersion 1.0",
			src:     fnWith("      Events:\n        Get:\n          Type: HttpApi\n          Properties: {Path: /x, Method: GET, PayloadFormatVersion: \"1.0\"}\n"),
			wantErr: []string{"resource Fn", "event Get", "PayloadFormatVersion 1.0", "2.0 only"},
		},
		{
			name:    "Path without Method",
			src:     fnWith("      Events:\n        Get:\n          Type: HttpApi\n          Properties: {Path: /x}\n"),
			wantErr: []string{"event Get", "needs both Path and Method"},
		},
		{
			name:    "Method without Path",
			src:     fnWith("      Events:\n        Get:\n          Type: HttpApi\n          Properties: {Method: GET}\n"),
			wantErr: []string{"event Get", "needs both Path and Method"},
		},
		{
			name:    "Path without leading slash",
			src:     fnWith("      Events:\n        Get:\n          Type: HttpApi\n          Properties: {Path: x, Method: GET}\n"),
			wantErr: []string{`Path "x" must start with /`},
		},
		{
			name:    "TimeoutInMillis above 30000",
			src:     fnWith("      Events:\n        Get:\n          Type: HttpApi\n          Properties: {Path: /x, Method: GET, TimeoutInMillis: 30001}\n"),
			wantErr: []string{"TimeoutInMillis 30001: must be 50 to 30000"},
		},
		{
			name:    "ApiId naming no HttpApi",
			src:     fnWith("      Events:\n        Get:\n          Type: HttpApi\n          Properties: {Path: /x, Method: GET, ApiId: !Ref Fn}\n"),
			wantErr: []string{"ApiId Fn is not an AWS::Serverless::HttpApi"},
		},
		{
			name:    "unsupported intrinsic ImportValue",
			src:     fnWith("      Environment:\n        Variables:\n          V: !ImportValue shared-stack-output\n"),
			wantErr: []string{"resource Fn", "Fn::ImportValue is not supported by the local stack"},
		},
		{
			name:    "schedule with invalid JSON Input",
			src:     fnWith("      Events:\n        Tick:\n          Type: ScheduleV2\n          Properties:\n            ScheduleExpression: rate(1 minute)\n            Input: '{not json'\n"),
			wantErr: []string{"resource Fn", "event Tick", "Input is not valid JSON"},
		},
		{
			name:    "schedule without expression",
			src:     fnWith("      Events:\n        Tick:\n          Type: Schedule\n          Properties: {Input: '{}'}\n"),
			wantErr: []string{"event Tick", "a schedule needs an expression"},
		},
		{
			name: "YAML merge key",
			src: `
Globals:
  Function: &base
    Timeout: 5
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      <<: *base
      CodeUri: .
`,
			wantErr: []string{"line 9", "YAML merge keys are not supported"},
		},
		{
			name:    "template without Resources",
			src:     "Parameters:\n  Stage: {Type: String, Default: dev}\n",
			wantErr: []string{"the template has no Resources"},
		},
		{
			name:    "empty Resources",
			src:     "Resources: {}\n",
			wantErr: []string{"the template has no Resources"},
		},
		{
			name:    "not a mapping",
			src:     "- a\n- b\n",
			wantErr: []string{"the template is not a mapping"},
		},
		{
			name:    "YAML syntax error",
			src:     "Resources: [\n",
			wantErr: []string{"yaml"},
		},
		{
			name:    "GetAtt without attribute",
			src:     fnWith("      Environment:\n        Variables:\n          V: !GetAtt Fn\n"),
			wantErr: []string{`!GetAtt "Fn" needs Resource.Attribute`},
		},
		{
			name: "undefined condition",
			src: `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Condition: Nowhere
`,
			wantErr: []string{"resource Fn", "condition Nowhere is not defined"},
		},
		{
			name: "resource not a mapping",
			src: `
Resources:
  Fn: just a string
`,
			wantErr: []string{"resource Fn is not a mapping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Parse([]byte(tt.src), Options{Parameters: tt.params})
			if err == nil {
				t.Fatalf("Parse succeeded (functions %v, routes %+v), want an error containing %q", functionIDs(tpl), tpl.Routes, tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestParameterOverrideSatisfiesMissingDefault(t *testing.T) {
	src := "Parameters:\n  Secret: {Type: String}\n" + fnWith("      Environment:\n        Variables:\n          S: !Ref Secret\n")
	tpl := mustParse(t, []byte(src), Options{Parameters: map[string]string{"Secret": "s3cr3t"}})
	if got := findFunction(t, tpl, "Fn").Env["S"]; got != "s3cr3t" {
		t.Errorf("S = %q, want s3cr3t", got)
	}
}

func TestLocalDefaultsReplaceTemplateDefaults(t *testing.T) {
	src := "Parameters:\n  Voice: {Type: String, Default: \"\"}\n" + fnWith("      Environment:\n        Variables:\n          V: !Ref Voice\n")
	defaults := map[string]string{"Voice": "+815000000000", "Undeclared": "ignored"}
	tpl := mustParse(t, []byte(src), Options{Defaults: defaults})
	if got := findFunction(t, tpl, "Fn").Env["V"]; got != "+815000000000" {
		t.Errorf("V = %q, want the local default", got)
	}
	tpl = mustParse(t, []byte(src), Options{Defaults: defaults, Parameters: map[string]string{"Voice": ""}})
	if got := findFunction(t, tpl, "Fn").Env["V"]; got != "" {
		t.Errorf("V = %q, want the override (empty) to win over the local default", got)
	}
}

func TestRouteKey(t *testing.T) {
	tests := []struct {
		route Route
		want  string
	}{
		{Route{Method: "GET", Path: "/health"}, "GET /health"},
		{Route{Method: "ANY", Path: "/files/{proxy+}"}, "ANY /files/{proxy+}"},
		{Route{}, "$default"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.route.Key(); got != tt.want {
				t.Errorf("Key() = %q, want %q", got, tt.want)
			}
		})
	}
}

// Conditions that refer to each other are an error, not endless recursion.
func TestCircularConditions(t *testing.T) {
	const src = `
Conditions:
  A: !And [!Condition B, !Equals [a, a]]
  B: !Not [!Condition A]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Condition: A
`
	_, err := Parse([]byte(src), Options{})
	if err == nil || !strings.Contains(err.Error(), "circular") {
		t.Errorf("Parse = %v, want a circular-condition error", err)
	}
}

// An unquoted "PayloadFormatVersion: 2.0" is a YAML number and still 2.0.
func TestPayloadFormatVersionUnquoted(t *testing.T) {
	src := fnWith("      Events:\n        Get:\n          Type: HttpApi\n          Properties: {Path: /x, Method: GET, PayloadFormatVersion: 2.0}\n")
	tpl, err := Parse([]byte(src), Options{})
	if err != nil {
		t.Fatalf("Parse: %v; want PayloadFormatVersion 2.0 (unquoted) accepted", err)
	}
	if len(tpl.Routes) != 1 {
		t.Errorf("routes = %+v, want GET /x", tpl.Routes)
	}
}

// !Sub of a list parameter is an error, as in CloudFormation.
func TestSubOfListParameter(t *testing.T) {
	src := "Parameters:\n  Origins: {Type: CommaDelimitedList, Default: 'a,b'}\n" +
		fnWith("      Environment:\n        Variables:\n          X: !Sub 'origins=${Origins}'\n")
	tpl, err := Parse([]byte(src), Options{})
	if err == nil {
		t.Fatalf("Parse succeeded with X = %q; want an error: ${Origins} is a list, not a string", findFunction(t, tpl, "Fn").Env["X"])
	}
	if !strings.Contains(err.Error(), "Origins") {
		t.Errorf("error %q does not name the parameter Origins", err)
	}
}

// An override must match the parameter's AllowedPattern.
func TestAllowedPatternEnforced(t *testing.T) {
	tpl, err := Parse(readRealTemplate(t), realOptions(Options{Parameters: map[string]string{"Stage": "Bad Stage"}}))
	if err == nil {
		t.Fatalf("Parse succeeded with table %q; want an error: Stage does not match its AllowedPattern",
			aws.ToString(findTable(t, tpl, "SystemTable").Input.TableName))
	}
	if !strings.Contains(err.Error(), "Stage") || !strings.Contains(err.Error(), "AllowedPattern") {
		t.Errorf("error %q does not name Stage and its AllowedPattern", err)
	}
}

func TestNoEchoParameterWithoutDefault(t *testing.T) {
	src := []byte(string(readRealTemplate(t)))
	if _, err := Parse(src, Options{}); err == nil || !strings.Contains(err.Error(), "AuthSecret") {
		t.Errorf("Parse without a secret source = %v, want an error naming AuthSecret", err)
	}
	tpl, err := Parse(src, Options{Parameters: map[string]string{"AuthSecret": "given-on-the-command-line-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Parameters["AuthSecret"]; got != "given-on-the-command-line-0123456789" {
		t.Errorf("AuthSecret = %q, want the override", got)
	}
}
