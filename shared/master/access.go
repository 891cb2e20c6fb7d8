package master

import (
	"context"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
)

// Lookup reads one record for a decision that is not the caller's to see
// (the jurisdiction a listing names); NotFound when absent.
func (s *Service) Lookup(ctx context.Context, kind Kind, code string) (Record, error) {
	return s.store.GetRecord(ctx, kind, code)
}

// managed returns a record actor administers. A role that manages no
// masters is refused before the read, and below national level an unknown
// code answers exactly like one of another jurisdiction.
func (s *Service) managed(ctx context.Context, actor authz.Principal, kind Kind, code string) (Record, error) {
	if err := authz.AuthorizeRole(actor, authz.ManageMasters); err != nil {
		return Record{}, err
	}
	rec, err := s.store.GetRecord(ctx, kind, code)
	if apperr.CodeOf(err) == apperr.NotFound {
		return Record{}, authz.Unknown(actor, authz.ManageMasters, err)
	}
	if err != nil {
		return Record{}, err
	}
	if err := authz.Authorize(actor, authz.ManageMasters, rec.Scope()); err != nil {
		return Record{}, err
	}
	return rec, nil
}
