package survey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gmis-oss/gmis/shared/apperr"
)

// MaxCount is the largest count a survey takes.
const MaxCount = 100_000

// MaxBodyBytes is the largest survey body read.
const MaxBodyBytes = 64 << 10

// fieldKind is what a survey field holds.
type fieldKind int

const (
	kindCount    fieldKind = iota // a whole number 0..MaxCount, required
	kindOptCount                  // the same, or absent / null
	kindEnum                      // one of choices, required
	kindFlag                      // true or false, required
)

// Choice is one value of an enumerated field with its Japanese label.
type Choice struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// field describes one leaf of a survey body: its dotted path, its
// Japanese label and where its value goes in T.
type field[T any] struct {
	path    string
	label   string
	kind    fieldKind
	choices []Choice
	count   func(*T) *int64
	opt     func(*T) **int64
	text    func(*T) *string
	flag    func(*T) *bool
}

// rule is a part that must not exceed its whole (the sum of wholes).
type rule[T any] struct {
	part   string
	wholes []string
}

// schema is every field and part-whole rule of one kind of survey.
type schema[T any] struct {
	fields []field[T]
	rules  []rule[T]
}

func (s schema[T]) field(path string) (field[T], bool) {
	for _, f := range s.fields {
		if f.path == path {
			return f, true
		}
	}
	return field[T]{}, false
}

func (s schema[T]) label(path string) string {
	f, _ := s.field(path)
	return f.label
}

// objects are the paths of the nested objects of the body.
func (s schema[T]) objects() map[string]bool {
	out := map[string]bool{}
	for _, f := range s.fields {
		p := f.path
		for {
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
			out[p] = true
		}
	}
	return out
}

// Input is a decoded survey body: the values and the version the writer
// read (0: none, the day or week has no survey yet).
type Input[T any] struct {
	Version int64
	Values  T
}

// decode reads a survey body and checks every rule, reporting every
// problem at once; the body's top level also takes "version".
func decode[T any](s schema[T], data []byte) (Input[T], error) {
	var in Input[T]
	if len(data) > MaxBodyBytes {
		return in, apperr.New(apperr.TooLarge, "送信されたデータが大きすぎます。", "the survey body is too large")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return in, apperr.InvalidField("", "リクエストの本文が空です。", "request body is empty")
		}
		return in, apperr.InvalidField("", "JSON の形式が正しくありません。", "malformed JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return in, apperr.InvalidField("", "JSON の後に余分なデータがあります。", "unexpected data after the JSON object")
	}
	top, ok := root.(map[string]any)
	if !ok {
		return in, apperr.InvalidField("", "本文は JSON のオブジェクトにしてください。", "the body must be a JSON object")
	}
	var probs []apperr.Problem
	if v, ok := top["version"]; ok {
		delete(top, "version")
		n, ok := v.(json.Number)
		ver, err := strconv.ParseInt(string(n), 10, 64)
		if v != nil && (!ok || err != nil || ver < 0) {
			probs = append(probs, problem("version", "type", "読み込んだ時の版（バージョン）が正しくありません。画面を読み込み直してください。",
				"version must be the version you read (a whole number of 0 or more)"))
		}
		in.Version = ver
	}
	leaves, known := map[string]any{}, map[string]bool{}
	for _, f := range s.fields {
		known[f.path] = true
	}
	flatten("", top, s.objects(), known, leaves, &probs)
	valid := map[string]int64{}
	for _, f := range s.fields {
		v, present := leaves[f.path]
		if !present || v == nil {
			if f.kind == kindOptCount {
				continue
			}
			probs = append(probs, problem(f.path, "required", fmt.Sprintf("「%s」を入力してください。", f.label), f.path+" is required"))
			continue
		}
		switch f.kind {
		case kindCount, kindOptCount:
			n, p := countOf(f.path, f.label, v)
			if p != nil {
				probs = append(probs, *p)
				continue
			}
			valid[f.path] = n
			if f.kind == kindCount {
				*f.count(&in.Values) = n
			} else {
				*f.opt(&in.Values) = &n
			}
		case kindEnum:
			str, _ := v.(string)
			i := slices.IndexFunc(f.choices, func(c Choice) bool { return c.Code == str })
			if i < 0 {
				probs = append(probs, problem(f.path, "enum", fmt.Sprintf("「%s」は %s のいずれかにしてください。", f.label, choiceList(f.choices, true)),
					fmt.Sprintf("%s must be one of %s", f.path, choiceList(f.choices, false))))
				continue
			}
			*f.text(&in.Values) = str
		case kindFlag:
			b, ok := v.(bool)
			if !ok {
				probs = append(probs, problem(f.path, "type", fmt.Sprintf("「%s」ははい・いいえのどちらかにしてください。", f.label), f.path+" must be true or false"))
				continue
			}
			*f.flag(&in.Values) = b
		}
	}
	for _, r := range s.rules {
		part, ok := valid[r.part]
		if !ok {
			continue
		}
		var whole int64
		all := true
		labels := make([]string, len(r.wholes))
		for i, w := range r.wholes {
			n, ok := valid[w]
			all = all && ok
			whole += n
			labels[i] = fmt.Sprintf("「%s」", s.label(w))
		}
		if !all || part <= whole {
			continue
		}
		wholes := strings.Join(r.wholes, " + ")
		of := strings.Join(labels, "と")
		if len(labels) > 1 {
			of += "の合計"
		}
		probs = append(probs, apperr.Problem{Field: r.part, Rule: "not_above:" + wholes,
			Message:   fmt.Sprintf("「%s」（%d）は%s（%d）以下にしてください。", s.label(r.part), part, of, whole),
			MessageEn: fmt.Sprintf("%s (%d) must not exceed %s (%d)", r.part, part, wholes, whole)})
	}
	if len(probs) > 0 {
		first := probs[0]
		msg := fmt.Sprintf("入力内容に%d件の誤りがあります。", len(probs))
		msgEn := fmt.Sprintf("%d problems in the survey", len(probs))
		if len(probs) == 1 {
			msg, msgEn = first.Message, first.MessageEn
		}
		return in, &apperr.Error{Code: apperr.Invalid, Field: first.Field, Message: msg, MessageEn: msgEn, Problems: probs}
	}
	return in, nil
}

func problem(path, rule, ja, en string) apperr.Problem {
	return apperr.Problem{Field: path, Rule: rule, Message: ja, MessageEn: en}
}

func choiceList(cs []Choice, ja bool) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Code
		if ja {
			parts[i] = c.Code + "（" + c.Label + "）"
		}
	}
	if ja {
		return strings.Join(parts, "・")
	}
	return strings.Join(parts, ", ")
}

// flatten walks a decoded JSON object, putting each leaf under its dotted
// path and reporting members that are not part of the survey.
func flatten(prefix string, m map[string]any, objects, known map[string]bool, leaves map[string]any, probs *[]apperr.Problem) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		v := m[k]
		if objects[path] && !strings.Contains(k, ".") {
			sub, ok := v.(map[string]any)
			if !ok {
				*probs = append(*probs, problem(path, "type", "送信された調査の形式が正しくありません（項目のまとまりが崩れています）。", path+" must be an object"))
				continue
			}
			flatten(path, sub, objects, known, leaves, probs)
			continue
		}
		if !known[path] || strings.Contains(k, ".") {
			*probs = append(*probs, problem(path, "unknown", "調査にない項目が送信されました。", path+" is not a field of the survey"))
			continue
		}
		leaves[path] = v
	}
}

// countOf checks one count: a whole number from 0 to MaxCount.
func countOf(path, label string, v any) (int64, *apperr.Problem) {
	num, ok := v.(json.Number)
	if !ok {
		p := problem(path, "type", fmt.Sprintf("「%s」は数値で入力してください。", label), path+" must be a number")
		return 0, &p
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		// 3.0 is a whole number written oddly; 3.5 and 1e400 are not.
		f, ferr := strconv.ParseFloat(string(num), 64)
		if ferr != nil || f != float64(int64(f)) {
			p := problem(path, "integer", fmt.Sprintf("「%s」は整数で入力してください。", label), path+" must be a whole number")
			return 0, &p
		}
		n = int64(f)
	}
	if n < 0 || n > MaxCount {
		p := problem(path, "range", fmt.Sprintf("「%s」は0〜%dの範囲で入力してください。", label, MaxCount),
			fmt.Sprintf("%s must be from 0 to %d", path, MaxCount))
		return 0, &p
	}
	return n, nil
}

// FormField is one field of a survey as a form shows it: its path in the
// body (also the field errors name), its label, its kind ("count",
// "optional" (a count that may be left out), "choice" or "flag") and, for
// a choice, the choices. The browser pages
// draw their forms from it, so labels and choices are defined once.
type FormField struct {
	Path    string
	Label   string
	Kind    string
	Choices []Choice
}

// DailyForm lists the daily survey's fields in form order.
func DailyForm() []FormField { return formOf(dailySchema) }

// WeeklyForm lists the weekly survey's fields in form order.
func WeeklyForm() []FormField { return formOf(weeklySchema) }

func formOf[T any](s schema[T]) []FormField {
	out := make([]FormField, 0, len(s.fields))
	for _, f := range s.fields {
		kind := "count"
		switch f.kind {
		case kindOptCount:
			kind = "optional"
		case kindEnum:
			kind = "choice"
		case kindFlag:
			kind = "flag"
		}
		out = append(out, FormField{Path: f.path, Label: f.label, Kind: kind, Choices: f.choices})
	}
	return out
}
