package template

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// noValue stands for AWS::NoValue: the property it is assigned to disappears.
type noValue struct{}

// resolver evaluates CloudFormation intrinsic functions against the
// parameters, pseudo parameters, conditions and resources of one template.
type resolver struct {
	params     map[string]string
	listParams map[string]bool // CommaDelimitedList parameters: Ref gives a list
	pseudo     map[string]string
	conditions map[string]any
	condCache  map[string]bool
	condBusy   map[string]bool // conditions being evaluated, to catch cycles
	resources  map[string]map[string]any
	refs       map[string]string // logical ID → what Ref returns, once computed
	resolving  map[string]bool   // guards against cycles between resources
}

// resolve evaluates every intrinsic function in v.
func (r *resolver) resolve(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 1 {
			for k, arg := range t {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.call(k, arg)
				}
			}
		}
		out := make(map[string]any, len(t))
		for k, item := range t {
			rv, err := r.resolve(item)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, drop := rv.(noValue); !drop {
				out[k] = rv
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(t))
		for i, item := range t {
			rv, err := r.resolve(item)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if _, drop := rv.(noValue); !drop {
				out = append(out, rv)
			}
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) call(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Ref takes a name")
		}
		return r.ref(name)
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::GetAtt":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt takes [resource, attribute]")
		}
		res, _ := parts[0].(string)
		attr, err := r.resolveString(parts[1])
		if err != nil {
			return nil, err
		}
		return r.getAtt(res, attr)
	case "Fn::Join":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Join takes [delimiter, list]")
		}
		sep, _ := parts[0].(string)
		list, err := r.resolve(parts[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Join: the second argument is not a list")
		}
		strs := make([]string, len(items))
		for i, it := range items {
			strs[i] = toString(it)
		}
		return strings.Join(strs, sep), nil
	case "Fn::Select":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Select takes [index, list]")
		}
		idx, err := r.resolveString(parts[0])
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(idx)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select index %q: %w", idx, err)
		}
		list, err := r.resolve(parts[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select index %d out of range", i)
		}
		return items[i], nil
	case "Fn::Split":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Split takes [delimiter, string]")
		}
		sep, _ := parts[0].(string)
		s, err := r.resolveString(parts[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 3 {
			return nil, fmt.Errorf("Fn::If takes [condition, then, else]")
		}
		name, _ := parts[0].(string)
		c, err := r.condition(name)
		if err != nil {
			return nil, err
		}
		if c {
			return r.resolve(parts[1])
		}
		return r.resolve(parts[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return r.evalCondition(map[string]any{fn: arg})
	case "Fn::ToJsonString":
		v, err := r.resolve(arg)
		if err != nil {
			return nil, err
		}
		return toJSON(v)
	}
	return nil, fmt.Errorf("%s is not supported by the local stack", fn)
}

func (r *resolver) resolveString(v any) (string, error) {
	rv, err := r.resolve(v)
	if err != nil {
		return "", err
	}
	switch rv.(type) {
	case map[string]any, []any:
		return "", fmt.Errorf("expected a string, got %T", rv)
	}
	return toString(rv), nil
}

func toString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func (r *resolver) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue{}, nil
	}
	if v, ok := r.pseudo[name]; ok {
		return v, nil
	}
	if v, ok := r.params[name]; ok {
		if r.listParams[name] {
			var list []any
			for _, item := range strings.Split(v, ",") {
				list = append(list, strings.TrimSpace(item))
			}
			return list, nil
		}
		return v, nil
	}
	if v, ok := r.refs[name]; ok {
		return v, nil
	}
	res, ok := r.resources[name]
	if !ok {
		return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	if r.resolving[name] {
		return nil, fmt.Errorf("Ref %s: circular reference", name)
	}
	r.resolving[name] = true
	defer delete(r.resolving, name)
	v, err := r.physicalName(name, res)
	if err != nil {
		return nil, err
	}
	r.refs[name] = v
	return v, nil
}

// physicalName is what Ref returns for a resource: the name the template
// gives it, or one derived from the stack name as CloudFormation would.
func (r *resolver) physicalName(logicalID string, res map[string]any) (string, error) {
	typ, _ := res["Type"].(string)
	props, _ := res["Properties"].(map[string]any)
	nameProp := map[string]string{
		"AWS::DynamoDB::Table":          "TableName",
		"AWS::Serverless::Function":     "FunctionName",
		"AWS::Lambda::Function":         "FunctionName",
		"AWS::Scheduler::ScheduleGroup": "Name",
		"AWS::S3::Bucket":               "BucketName",
	}[typ]
	if nameProp != "" {
		if v, ok := props[nameProp]; ok {
			return r.resolveString(v)
		}
	}
	return r.pseudo["AWS::StackName"] + "-" + logicalID, nil
}

func (r *resolver) getAtt(res, attr string) (any, error) {
	if _, ok := r.resources[res]; !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", res, attr)
	}
	name, err := r.ref(res)
	if err != nil {
		return nil, err
	}
	typ, _ := r.resources[res]["Type"].(string)
	region, account := r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"]
	switch {
	case typ == "AWS::DynamoDB::Table" && attr == "Arn":
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, account, name), nil
	case typ == "AWS::DynamoDB::Table" && attr == "StreamArn":
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s/stream/local", region, account, name), nil
	case typ == "AWS::S3::Bucket" && attr == "Arn":
		return "arn:aws:s3:::" + name.(string), nil
	case typ == "AWS::S3::Bucket" && attr == "RegionalDomainName":
		return fmt.Sprintf("%s.s3.%s.amazonaws.com", name, region), nil
	case strings.HasSuffix(typ, "::Function") && attr == "Arn":
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, name), nil
	}
	return fmt.Sprintf("arn:aws:local:%s:%s:%s/%s", region, account, res, attr), nil
}

func (r *resolver) sub(arg any) (any, error) {
	var (
		format string
		vars   map[string]any
	)
	switch t := arg.(type) {
	case string:
		format = t
	case []any:
		if len(t) != 2 {
			return nil, fmt.Errorf("Fn::Sub takes a string or [string, variables]")
		}
		format, _ = t[0].(string)
		vars, _ = t[1].(map[string]any)
	default:
		return nil, fmt.Errorf("Fn::Sub takes a string or [string, variables]")
	}
	var b strings.Builder
	for {
		i := strings.Index(format, "${")
		if i < 0 {
			b.WriteString(format)
			return b.String(), nil
		}
		b.WriteString(format[:i])
		j := strings.Index(format[i:], "}")
		if j < 0 {
			return nil, fmt.Errorf("Fn::Sub: unclosed ${ in %q", format)
		}
		name := format[i+2 : i+j]
		format = format[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var (
			val any
			err error
		)
		if v, ok := vars[name]; ok {
			val, err = r.resolve(v)
		} else if res, attr, dotted := strings.Cut(name, "."); dotted {
			if _, isRes := r.resources[res]; isRes {
				val, err = r.getAtt(res, attr)
			} else {
				val, err = r.ref(name)
			}
		} else {
			val, err = r.ref(name)
		}
		if err != nil {
			return nil, fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		switch val.(type) {
		case []any, map[string]any:
			return nil, fmt.Errorf("Fn::Sub ${%s}: is a list, not a string", name)
		}
		b.WriteString(toString(val))
	}
}

func (r *resolver) condition(name string) (bool, error) {
	if v, ok := r.condCache[name]; ok {
		return v, nil
	}
	def, ok := r.conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %s is not defined", name)
	}
	if r.condBusy[name] {
		return false, fmt.Errorf("condition %s: circular reference", name)
	}
	r.condBusy[name] = true
	defer delete(r.condBusy, name)
	v, err := r.evalCondition(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	r.condCache[name] = v
	return v, nil
}

func (r *resolver) evalCondition(def any) (bool, error) {
	m, ok := def.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("a condition must be one function")
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return r.condition(name)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals takes two values")
			}
			a, err := r.resolve(args[0])
			if err != nil {
				return false, err
			}
			b, err := r.resolve(args[1])
			if err != nil {
				return false, err
			}
			return reflect.DeepEqual(toString(a), toString(b)), nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not takes one condition")
			}
			v, err := r.evalCondition(args[0])
			return !v, err
		case "Fn::And", "Fn::Or":
			want := fn == "Fn::Or"
			for _, a := range args {
				v, err := r.evalCondition(a)
				if err != nil {
					return false, err
				}
				if v == want {
					return want, nil
				}
			}
			return !want, nil
		}
		return false, fmt.Errorf("%s cannot be used in a condition", fn)
	}
	return false, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
