// Package apperr holds the one error type the system's functions return to
// callers. Every error a client may see carries a code from a small set; any
// other error counts as internal and its detail stays in the log.
package apperr

import (
	"errors"
)

// Code classifies an error for the caller. Only package httpapi maps codes to
// HTTP statuses.
type Code string

// The codes. Keep the set small: a new code is a new promise to clients.
const (
	Invalid         Code = "invalid"           // the request breaks a rule; names the field
	Unauthenticated Code = "unauthenticated"   // no valid session or credentials
	Forbidden       Code = "forbidden"         // authenticated but not allowed
	NotFound        Code = "not_found"         // the thing does not exist or may not be seen
	Conflict        Code = "conflict"          // the state changed under the caller; retry after reading
	TooLarge        Code = "too_large"         // the request body is over the limit
	TooManyRequests Code = "too_many_requests" // rate limited; retry later
	Unavailable     Code = "unavailable"       // the service is closed for now (maintenance)
	Internal        Code = "internal"          // anything else; detail never reaches the client
)

// Problem is one of several things wrong with a request: a broken password
// rule, a bad cell of an uploaded CSV.
type Problem struct {
	Field     string `json:"field,omitempty"`
	Row       int    `json:"row,omitempty"`    // 1-based line of an upload
	Column    string `json:"column,omitempty"` // an upload's column letter and name
	Rule      string `json:"rule,omitempty"`
	Message   string `json:"message"`
	MessageEn string `json:"messageEn,omitempty"`
}

// Error is an error meant for the caller: a code, a message in Japanese and
// English, and, for invalid input, the field at fault.
type Error struct {
	Code      Code
	Field     string    // JSON name of the offending field, if any
	Message   string    // Japanese, shown to browser users
	MessageEn string    // English
	Problems  []Problem // every problem, when there are several
	// Detail is what the caller needs to act on the error beyond the
	// message (a conflict's current version and its writer).
	Detail map[string]string
	Err    error // underlying cause, for the log only
}

// Error returns the English message with the field, for logs and tests.
func (e *Error) Error() string {
	msg := e.MessageEn
	if msg == "" {
		msg = e.Message
	}
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given code and messages.
func New(code Code, message, messageEn string) *Error {
	return &Error{Code: code, Message: message, MessageEn: messageEn}
}

// InvalidField returns an Invalid error that names the field at fault.
func InvalidField(field, message, messageEn string) *Error {
	return &Error{Code: Invalid, Field: field, Message: message, MessageEn: messageEn}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
