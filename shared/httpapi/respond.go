package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gmis-oss/gmis/shared/apperr"
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
	Code      apperr.Code      `json:"code"`
	Message   string           `json:"message"`
	MessageEn string           `json:"messageEn,omitempty"`
	Field     string           `json:"field,omitempty"`
	Problems  []apperr.Problem `json:"problems,omitempty"`
	RequestID string           `json:"requestId,omitempty"`
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

func writeError(w http.ResponseWriter, st *requestState, e *apperr.Error) {
	detail := ErrorDetail{Code: e.Code, Message: e.Message, MessageEn: e.MessageEn, Field: e.Field, Problems: e.Problems, RequestID: st.id}
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
