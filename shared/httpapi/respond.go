package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/plaintext"
)

// statusOf is the one mapping from error codes to HTTP statuses.
func statusOf(code apperr.Code) int {
	switch code {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.TooManyRequests:
		return http.StatusTooManyRequests
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the JSON error envelope every function answers with:
// {"error":{"code":"...","message":"...","field":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code      apperr.Code       `json:"code"`
	Message   string            `json:"message"`
	MessageEn string            `json:"messageEn,omitempty"`
	Field     string            `json:"field,omitempty"`
	Problems  []apperr.Problem  `json:"problems,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
}

// WriteJSON writes v as JSON with the given status. API answers are never
// cached: they carry one institution's data.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here (an unencodable type).
		body = []byte(`{"error":{"code":"internal","message":"内部エラーが発生しました。"}}`)
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// Reply answers with v as JSON and the given status, or with err if it is
// not nil: the end of most handlers.
func Reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, status, v)
}

// WriteError answers with err in the JSON envelope. An *apperr.Error keeps
// its code, field and messages; anything else is internal: the client gets a
// generic message with the request ID and the detail goes to the access log.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := r.Context().Value(stateKey{}).(*requestState)
	if st == nil {
		st = &requestState{}
	}
	e := apperr.As(err)
	if e == nil || e.Code == apperr.Internal {
		st.err = err
		e = internalError()
	} else if e.Err != nil {
		st.err = err
	}
	writeError(w, st, e)
}

// RetryAfterSeconds is the Retry-After of a 503 that does not set its own
// (the maintenance gate sets the window's end).
const RetryAfterSeconds = "30"

func writeError(w http.ResponseWriter, st *requestState, e *apperr.Error) {
	if e.Code == apperr.Unavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	detail := ErrorDetail{Code: e.Code, Message: e.Message, MessageEn: e.MessageEn, Field: e.Field, Problems: e.Problems, Detail: e.Detail, RequestID: st.id}
	if e.Code == apperr.Internal && st.id != "" {
		detail.Message = fmt.Sprintf("内部エラーが発生しました。お問い合わせの際はリクエストID %s をお伝えください。", st.id)
		detail.MessageEn = "internal error; quote request ID " + st.id + " when you contact support"
	}
	WriteJSON(w, statusOf(e.Code), ErrorBody{Error: detail})
}

func internalError() *apperr.Error {
	return apperr.New(apperr.Internal, "内部エラーが発生しました。", "internal error")
}

func tooLarge(limit int64) *apperr.Error {
	return apperr.New(apperr.TooLarge,
		fmt.Sprintf("送信されたデータが大きすぎます（上限 %d バイト）。", limit),
		fmt.Sprintf("request body is larger than %d bytes", limit))
}

// DecodeJSON reads the request body as one JSON object into v. Unknown
// fields, wrong types, trailing data and an oversized body are refused with
// an Invalid (or TooLarge) error that names the field where it can.
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.InvalidField("Content-Type", "Content-Type は application/json にしてください。", "Content-Type must be application/json")
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge(maxErr.Limit)
		}
		return apperr.InvalidField("", "JSON の後に余分なデータがあります。", "unexpected data after the JSON object")
	}
	return checkText(reflect.ValueOf(v), "", false)
}

// checkText refuses control characters in every string of a decoded body,
// so that no route can store one by forgetting to check. A struct field
// tagged `text:"multiline"` may hold line breaks; the values of a
// map[string]string are named by their keys.
func checkText(v reflect.Value, field string, multiline bool) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkText(v.Elem(), field, multiline)
	case reflect.String:
		return plaintext.Check(fieldOrBodyEn(field), v.String(), multiline)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if err := checkText(v.Field(i), name, f.Tag.Get("text") == "multiline"); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			name := field
			if k := iter.Key(); k.Kind() == reflect.String {
				if err := plaintext.Check(fieldOrBodyEn(field), k.String(), false); err != nil {
					return err
				}
				name = k.String()
			}
			if err := checkText(iter.Value(), name, multiline); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes, not text
		}
		for i := range v.Len() {
			if err := checkText(v.Index(i), field, multiline); err != nil {
				return err
			}
		}
	}
	return nil
}

func decodeError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(maxErr.Limit)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			// The body as a whole is of the wrong kind (an array, a string):
			// the Go type it was meant for says nothing to the caller.
			return apperr.InvalidField("", "本文は JSON のオブジェクト（{ … }）で送ってください。", "the body must be a JSON object")
		}
		return apperr.InvalidField(field,
			fmt.Sprintf("%s の型が正しくありません（%s が必要です）。", fieldOrBody(field), typeErr.Type),
			fmt.Sprintf("%s must be of type %s", fieldOrBodyEn(field), typeErr.Type))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.InvalidField("", "JSON の形式が正しくありません。", "malformed JSON")
	case errors.Is(err, io.EOF):
		return apperr.InvalidField("", "リクエストの本文が空です。", "request body is empty")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.InvalidField(field, "未知の項目です。", "unknown field")
	default:
		return apperr.InvalidField("", "JSON を読み取れません。", "cannot read JSON")
	}
}

func fieldOrBody(field string) string {
	if field == "" {
		return "本文"
	}
	return field
}

func fieldOrBodyEn(field string) string {
	if field == "" {
		return "body"
	}
	return field
}

// jst is Japan Standard Time, in which people write the times they type.
var jst = time.FixedZone("JST", 9*60*60)

// DateTimeForms names the forms ParseDateTime accepts, for messages.
const DateTimeForms = "2026-11-22T01:00:00+09:00（RFC 3339）または 2026/11/22 01:00（日本時間）"

// ParseDateTime reads a date-time given in a request body: RFC 3339, or
// YYYY/MM/DD HH:MM taken as JST (how people in Japan write it). "" is the
// zero time, for the caller to require or not; anything else that does not
// parse is an Invalid error naming field and the accepted forms.
func ParseDateTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006/01/02 15:04", v, jst); err == nil {
		return t, nil
	}
	return time.Time{}, apperr.InvalidField(field,
		fmt.Sprintf("%s の日時を読み取れません。%s の形で指定してください。", field, DateTimeForms),
		fmt.Sprintf("%s is not a date-time; use RFC 3339 (2026-11-22T01:00:00+09:00) or YYYY/MM/DD HH:MM in JST", field))
}
