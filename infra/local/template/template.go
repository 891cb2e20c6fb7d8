// Package template reads the project's SAM template and tells the local
// stack what to run: functions with their environment and limits, the HTTP
// API's routes and CORS settings, DynamoDB tables and schedules. The
// template is the only source of these facts; nothing is configured twice.
package template

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Options are the deployment facts a real stack would get from CloudFormation.
type Options struct {
	StackName  string            // AWS::StackName; default "gmis-local"
	Region     string            // AWS::Region; default "ap-northeast-1"
	AccountID  string            // AWS::AccountId; default "123456789012"
	Parameters map[string]string // overrides of parameter defaults
	// Defaults replace the template's Default of parameters it declares and
	// Parameters does not set: what a machine without AWS needs instead
	// (a stand-in's identity where the template defaults to none).
	Defaults map[string]string
	// Secret supplies NoEcho parameters that have no default (keys a real
	// deployment is given at deploy time); nil makes them an error.
	Secret func(name string) (string, error)
}

// Template is what the local stack needs to know of a SAM template.
type Template struct {
	Parameters map[string]string // resolved values
	Functions  []*Function       // sorted by logical ID
	APIs       map[string]*HTTPAPI
	Routes     []Route
	Tables     []Table
	Buckets    []Bucket
	Schedules  []Schedule
}

// Function is one AWS::Serverless::Function after Globals are applied.
type Function struct {
	LogicalID   string
	Name        string // what Ref returns: FunctionName, or <stack>-<LogicalID>
	CodeURI     string
	Handler     string
	Runtime     string
	BuildMethod string
	Timeout     time.Duration
	MemoryMB    int
	Env         map[string]string
	LogFormat   string // LoggingConfig.LogFormat: "JSON" or "Text"
	LogLevel    string // LoggingConfig.ApplicationLogLevel
	// ReservedConcurrency caps concurrent instances; 0 means not set.
	ReservedConcurrency int
}

// HTTPAPI is an AWS::Serverless::HttpApi, or the implicit one SAM creates
// when a route names no ApiId.
type HTTPAPI struct {
	LogicalID string
	CORS      *CORS
}

// CORS is an HTTP API's CorsConfiguration.
type CORS struct {
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	AllowCredentials bool
	MaxAge           int
}

// ImplicitAPI is the logical ID SAM gives the HTTP API it creates for routes
// that name no ApiId.
const ImplicitAPI = "ServerlessHttpApi"

// Route is one HttpApi event of a function.
type Route struct {
	API       string
	Function  string // logical ID
	EventName string
	Method    string // upper case; "ANY" for any method
	Path      string // "/sos/{id}", "/files/{proxy+}"; "" for the $default route
	// IntegrationTimeout is how long API Gateway waits for the function
	// (TimeoutInMillis, 30 s by default) before answering 503.
	IntegrationTimeout time.Duration
}

// Key is the route key API Gateway puts in events: "GET /health" or "$default".
func (r Route) Key() string {
	if r.Path == "" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// Table is an AWS::DynamoDB::Table as the local stack creates it.
type Table struct {
	LogicalID    string
	Input        *dynamodb.CreateTableInput
	TTLAttribute string // "" when time to live is off
}

// Bucket is an AWS::S3::Bucket as the local stack creates it.
type Bucket struct {
	LogicalID string
	Name      string
	CORS      []BucketCORSRule
}

// BucketCORSRule is one rule of a bucket's CorsConfiguration.
type BucketCORSRule struct {
	AllowedOrigins []string
	AllowedMethods []string
	AllowedHeaders []string
	ExposedHeaders []string
	MaxAge         int
}

// Schedule is a Schedule or ScheduleV2 event of a function.
type Schedule struct {
	Function   string // logical ID
	EventName  string
	Kind       string // "ScheduleV2" (EventBridge Scheduler) or "Schedule" (EventBridge rule)
	Expression string // cron(...), rate(...) or at(...)
	Timezone   string // IANA name; "UTC" when the template gives none
	Input      string // JSON sent to the function; "" for the service's default event
	Enabled    bool
}

// Name is how schedules are named on the command line: Function/Event.
func (s Schedule) Name() string { return s.Function + "/" + s.EventName }

// Load reads and resolves the template at path.
func Load(path string, opts Options) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse resolves a template given as YAML (or JSON) text.
func Parse(data []byte, opts Options) (*Template, error) {
	doc, err := decodeYAML(data)
	if err != nil {
		return nil, err
	}
	if opts.StackName == "" {
		opts.StackName = "gmis-local"
	}
	if opts.Region == "" {
		opts.Region = "ap-northeast-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	r := &resolver{
		params:     map[string]string{},
		listParams: map[string]bool{},
		pseudo: map[string]string{
			"AWS::StackName": opts.StackName, "AWS::Region": opts.Region, "AWS::AccountId": opts.AccountID,
			"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
			"AWS::StackId": fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/local", opts.Region, opts.AccountID, opts.StackName),
		},
		condCache: map[string]bool{},
		condBusy:  map[string]bool{},
		refs:      map[string]string{},
		resolving: map[string]bool{},
	}
	r.conditions, _ = doc["Conditions"].(map[string]any)
	if err := setParameters(r, doc, opts.Parameters, opts.Defaults, opts.Secret); err != nil {
		return nil, err
	}
	r.resources = map[string]map[string]any{}
	resources, _ := doc["Resources"].(map[string]any)
	if len(resources) == 0 {
		return nil, fmt.Errorf("the template has no Resources")
	}
	for id, v := range resources {
		res, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s is not a mapping", id)
		}
		if cond, ok := res["Condition"].(string); ok {
			on, err := r.condition(cond)
			if err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
			if !on {
				continue
			}
		}
		r.resources[id] = res
	}

	t := &Template{Parameters: r.params, APIs: map[string]*HTTPAPI{}}
	globals, _ := doc["Globals"].(map[string]any)
	for _, id := range sortedKeys(r.resources) {
		res := r.resources[id]
		var err error
		switch res["Type"] {
		case "AWS::Serverless::Function":
			err = t.addFunction(r, id, res, globals)
		case "AWS::Serverless::HttpApi":
			err = t.addAPI(r, id, res, globals)
		case "AWS::DynamoDB::Table":
			err = t.addTable(r, id, res)
		case "AWS::S3::Bucket":
			err = t.addBucket(r, id, res)
		}
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
	}
	for _, rt := range t.Routes {
		if _, ok := t.APIs[rt.API]; ok {
			continue
		}
		if rt.API != ImplicitAPI {
			return nil, fmt.Errorf("function %s event %s: ApiId %s is not an AWS::Serverless::HttpApi", rt.Function, rt.EventName, rt.API)
		}
		api := &HTTPAPI{LogicalID: ImplicitAPI}
		if err := api.setCORS(r, globalProps(globals, "HttpApi")); err != nil {
			return nil, err
		}
		t.APIs[ImplicitAPI] = api
	}
	if err := checkRoutes(t.Routes); err != nil {
		return nil, err
	}
	return t, nil
}

func setParameters(r *resolver, doc map[string]any, overrides, defaults map[string]string, secret func(string) (string, error)) error {
	params, _ := doc["Parameters"].(map[string]any)
	for name, v := range overrides {
		if _, ok := params[name]; !ok {
			return fmt.Errorf("parameter %s is not declared in the template", name)
		}
		r.params[name] = v
	}
	for name, v := range defaults {
		if _, declared := params[name]; !declared {
			continue
		}
		if _, set := r.params[name]; !set {
			r.params[name] = v
		}
	}
	for name, v := range params {
		if _, set := r.params[name]; set {
			continue
		}
		p, _ := v.(map[string]any)
		def, ok := p["Default"]
		if !ok && p["NoEcho"] == true && secret != nil {
			v, err := secret(name)
			if err != nil {
				return fmt.Errorf("parameter %s: %w", name, err)
			}
			r.params[name] = v
			continue
		}
		if !ok {
			return fmt.Errorf("parameter %s has no default; give it a value", name)
		}
		if list, ok := def.([]any); ok {
			strs := make([]string, len(list))
			for i, it := range list {
				strs[i] = toString(it)
			}
			r.params[name] = strings.Join(strs, ",")
			continue
		}
		r.params[name] = toString(def)
	}
	for name, v := range params {
		p, _ := v.(map[string]any)
		if typ, _ := p["Type"].(string); typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			r.listParams[name] = true
		}
		if pat, _ := p["AllowedPattern"].(string); pat != "" {
			re, err := regexp.Compile("^(?:" + pat + ")$")
			if err != nil {
				return fmt.Errorf("parameter %s: AllowedPattern %q: %w", name, pat, err)
			}
			if !re.MatchString(r.params[name]) {
				return fmt.Errorf("parameter %s: %q does not match its AllowedPattern %s", name, r.params[name], pat)
			}
		}
		allowed, _ := p["AllowedValues"].([]any)
		if len(allowed) == 0 {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || toString(a) == r.params[name]
		}
		if !ok {
			return fmt.Errorf("parameter %s: %q is not one of its AllowedValues", name, r.params[name])
		}
	}
	return nil
}

func globalProps(globals map[string]any, kind string) map[string]any {
	m, _ := globals[kind].(map[string]any)
	return m
}

// mergeGlobals applies SAM's Globals rules: maps merge key by key, the
// resource's own scalars and lists win.
func mergeGlobals(global, own map[string]any) map[string]any {
	out := make(map[string]any, len(global)+len(own))
	for k, v := range global {
		out[k] = v
	}
	for k, v := range own {
		gm, gok := out[k].(map[string]any)
		om, ook := v.(map[string]any)
		if gok && ook && !isIntrinsic(om) {
			out[k] = mergeGlobals(gm, om)
			continue
		}
		out[k] = v
	}
	return out
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func (t *Template) addFunction(r *resolver, id string, res, globals map[string]any) error {
	own, _ := res["Properties"].(map[string]any)
	events, _ := own["Events"].(map[string]any)
	props := mergeGlobals(globalProps(globals, "Function"), own)
	delete(props, "Events")
	resolved, err := r.resolve(props)
	if err != nil {
		return err
	}
	p := resolved.(map[string]any)
	name, err := r.ref(id)
	if err != nil {
		return err
	}
	f := &Function{
		LogicalID: id,
		Name:      name.(string),
		CodeURI:   str(p["CodeUri"]),
		Handler:   str(p["Handler"]),
		Runtime:   str(p["Runtime"]),
		Timeout:   3 * time.Second,
		MemoryMB:  128,
		Env:       map[string]string{},
	}
	if meta, ok := res["Metadata"].(map[string]any); ok {
		f.BuildMethod = str(meta["BuildMethod"])
	}
	if v, ok := p["Timeout"]; ok {
		secs, err := number(v)
		if err != nil || secs < 1 || secs > 900 {
			return fmt.Errorf("Timeout %v: must be 1 to 900 seconds", v)
		}
		f.Timeout = time.Duration(secs) * time.Second
	}
	if v, ok := p["MemorySize"]; ok {
		mb, err := number(v)
		if err != nil || mb < 128 || mb > 10240 {
			return fmt.Errorf("MemorySize %v: must be 128 to 10240 MB", v)
		}
		f.MemoryMB = mb
	}
	if v, ok := p["ReservedConcurrentExecutions"]; ok {
		n, err := number(v)
		if err != nil || n < 0 {
			return fmt.Errorf("ReservedConcurrentExecutions %v: must be a whole number", v)
		}
		f.ReservedConcurrency = n
	}
	if lc, ok := p["LoggingConfig"].(map[string]any); ok {
		f.LogFormat, f.LogLevel = str(lc["LogFormat"]), str(lc["ApplicationLogLevel"])
	}
	if env, ok := p["Environment"].(map[string]any); ok {
		vars, _ := env["Variables"].(map[string]any)
		for k, v := range vars {
			f.Env[k] = toString(v)
		}
	}
	t.Functions = append(t.Functions, f)

	for _, ev := range sortedKeys(events) {
		e, _ := events[ev].(map[string]any)
		evProps, _ := e["Properties"].(map[string]any)
		var err error
		switch e["Type"] {
		case "HttpApi":
			err = t.addRoute(r, f, ev, evProps)
		case "ScheduleV2", "Schedule":
			err = t.addSchedule(r, f, ev, e["Type"].(string), evProps)
		}
		if err != nil {
			return fmt.Errorf("event %s: %w", ev, err)
		}
	}
	return nil
}

func (t *Template) addRoute(r *resolver, f *Function, event string, props map[string]any) error {
	api := ImplicitAPI
	if ref, ok := props["ApiId"].(map[string]any); ok {
		name, _ := ref["Ref"].(string)
		if name == "" {
			return fmt.Errorf("ApiId must be a Ref to an AWS::Serverless::HttpApi")
		}
		api = name
	}
	resolved, err := r.resolve(props)
	if err != nil {
		return err
	}
	p := resolved.(map[string]any)
	version := str(p["PayloadFormatVersion"])
	if f, ok := p["PayloadFormatVersion"].(float64); ok {
		version = strconv.FormatFloat(f, 'f', 1, 64) // YAML reads an unquoted 2.0 as a number
	}
	if v := version; v != "" && v != "2.0" {
		return fmt.Errorf("PayloadFormatVersion %s: the functions speak payload format 2.0 only", v)
	}
	rt := Route{API: api, Function: f.LogicalID, EventName: event, IntegrationTimeout: 30 * time.Second}
	rt.Path = str(p["Path"])
	rt.Method = strings.ToUpper(str(p["Method"]))
	switch {
	case rt.Path == "" && rt.Method == "":
		// The $default route.
	case rt.Path == "" || rt.Method == "":
		return fmt.Errorf("an HttpApi event needs both Path and Method, or neither for $default")
	case !strings.HasPrefix(rt.Path, "/"):
		return fmt.Errorf("Path %q must start with /", rt.Path)
	}
	if rt.Method == "*" {
		rt.Method = "ANY"
	}
	if v, ok := p["TimeoutInMillis"]; ok {
		ms, err := number(v)
		if err != nil || ms < 50 || ms > 30000 {
			return fmt.Errorf("TimeoutInMillis %v: must be 50 to 30000", v)
		}
		rt.IntegrationTimeout = time.Duration(ms) * time.Millisecond
	}
	t.Routes = append(t.Routes, rt)
	return nil
}

func (t *Template) addSchedule(r *resolver, f *Function, event, kind string, props map[string]any) error {
	resolved, err := r.resolve(props)
	if err != nil {
		return err
	}
	p := resolved.(map[string]any)
	s := Schedule{Function: f.LogicalID, EventName: event, Kind: kind, Timezone: "UTC", Enabled: true, Input: str(p["Input"])}
	if kind == "ScheduleV2" {
		s.Expression = str(p["ScheduleExpression"])
		if tz := str(p["ScheduleExpressionTimezone"]); tz != "" {
			s.Timezone = tz
		}
	} else {
		s.Expression = str(p["Schedule"])
		if on, ok := p["Enabled"].(bool); ok {
			s.Enabled = on
		}
	}
	if state := str(p["State"]); state != "" {
		s.Enabled = state == "ENABLED"
	}
	if s.Expression == "" {
		return fmt.Errorf("a schedule needs an expression")
	}
	if s.Input != "" && !json.Valid([]byte(s.Input)) {
		return fmt.Errorf("Input is not valid JSON")
	}
	t.Schedules = append(t.Schedules, s)
	return nil
}

func (t *Template) addAPI(r *resolver, id string, res, globals map[string]any) error {
	own, _ := res["Properties"].(map[string]any)
	props := mergeGlobals(globalProps(globals, "HttpApi"), own)
	api := &HTTPAPI{LogicalID: id}
	if err := api.setCORS(r, props); err != nil {
		return err
	}
	t.APIs[id] = api
	return nil
}

func (a *HTTPAPI) setCORS(r *resolver, props map[string]any) error {
	raw, ok := props["CorsConfiguration"]
	if !ok {
		return nil
	}
	resolved, err := r.resolve(raw)
	if err != nil {
		return fmt.Errorf("CorsConfiguration: %w", err)
	}
	switch c := resolved.(type) {
	case bool:
		if c {
			a.CORS = &CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}
		}
	case map[string]any:
		cors := &CORS{
			AllowOrigins:  strList(c["AllowOrigins"]),
			AllowMethods:  strList(c["AllowMethods"]),
			AllowHeaders:  strList(c["AllowHeaders"]),
			ExposeHeaders: strList(c["ExposeHeaders"]),
		}
		cors.AllowCredentials, _ = c["AllowCredentials"].(bool)
		if v, ok := c["MaxAge"]; ok {
			cors.MaxAge, _ = number(v)
		}
		a.CORS = cors
	default:
		return fmt.Errorf("CorsConfiguration must be true or a mapping")
	}
	return nil
}

func (t *Template) addTable(r *resolver, id string, res map[string]any) error {
	resolved, err := r.resolve(res["Properties"])
	if err != nil {
		return err
	}
	p, _ := resolved.(map[string]any)
	name, err := r.ref(id)
	if err != nil {
		return err
	}
	p["TableName"] = name
	// CloudFormation's property names are the DynamoDB API's names, so the
	// table definition decodes straight into the SDK's input type; properties
	// the API does not take (TimeToLiveSpecification, Tags …) are ignored here.
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	in := &dynamodb.CreateTableInput{}
	if err := json.Unmarshal(raw, in); err != nil {
		return fmt.Errorf("table properties: %w", err)
	}
	if len(in.KeySchema) == 0 {
		return fmt.Errorf("table %s has no KeySchema", name)
	}
	// SSESpecification and Tags differ in shape between CloudFormation and
	// the API and mean nothing locally.
	in.SSESpecification, in.Tags = nil, nil
	tbl := Table{LogicalID: id, Input: in}
	if ttl, ok := p["TimeToLiveSpecification"].(map[string]any); ok && ttl["Enabled"] == true {
		tbl.TTLAttribute = str(ttl["AttributeName"])
	}
	t.Tables = append(t.Tables, tbl)
	return nil
}

func (t *Template) addBucket(r *resolver, id string, res map[string]any) error {
	resolved, err := r.resolve(res["Properties"])
	if err != nil {
		return err
	}
	p, _ := resolved.(map[string]any)
	name, err := r.ref(id)
	if err != nil {
		return err
	}
	b := Bucket{LogicalID: id, Name: name.(string)}
	if cors, ok := p["CorsConfiguration"].(map[string]any); ok {
		rules, _ := cors["CorsRules"].([]any)
		for _, raw := range rules {
			rule, _ := raw.(map[string]any)
			cr := BucketCORSRule{AllowedOrigins: strList(rule["AllowedOrigins"]), AllowedMethods: strList(rule["AllowedMethods"]),
				AllowedHeaders: strList(rule["AllowedHeaders"]), ExposedHeaders: strList(rule["ExposedHeaders"])}
			if v, ok := rule["MaxAge"]; ok {
				cr.MaxAge, _ = number(v)
			}
			b.CORS = append(b.CORS, cr)
		}
	}
	t.Buckets = append(t.Buckets, b)
	return nil
}

func checkRoutes(routes []Route) error {
	seen := map[string]Route{}
	for _, rt := range routes {
		key := rt.API + " " + rt.Key()
		if prev, dup := seen[key]; dup {
			return fmt.Errorf("route %s is declared by both %s/%s and %s/%s", rt.Key(), prev.Function, prev.EventName, rt.Function, rt.EventName)
		}
		seen[key] = rt
	}
	return nil
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return toString(v)
}

func strList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, it := range list {
		out = append(out, toString(it))
	}
	return out
}

func number(v any) (int, error) {
	switch t := v.(type) {
	case int:
		return t, nil
	case float64:
		return int(t), nil
	case string:
		return strconv.Atoi(t)
	}
	return 0, fmt.Errorf("not a number: %v", v)
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
