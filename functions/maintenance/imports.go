package main

import (
	"context"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/uploads"
)

// importReply is the answer of import-master: the job's counts and
// rejected rows once it is done, or its ID and state if it outlasts this
// invocation (it goes on; its record is pk "job#<id>" in the jobs table).
type importReply struct {
	JobID      string           `json:"jobId"`
	State      job.State        `json:"state"`
	Kind       master.Kind      `json:"kind"`
	Encoding   string           `json:"encoding,omitempty"`
	Created    int              `json:"created"`
	Updated    int              `json:"updated"`
	Unchanged  int              `json:"unchanged"`
	Rejected   int              `json:"rejected"`
	Rejections []apperr.Problem `json:"rejections,omitempty"`
}

// importWait is how often import-master looks at its job, and how much of
// the invocation it leaves for the answer.
const (
	importPoll    = 200 * time.Millisecond
	importReserve = 5 * time.Second
)

// importMaster imports a master as a job, like an administrator's upload
// (the same checks, checkpoints and history), and waits for it.
func (o *operator) importMaster(ctx context.Context, kind master.Kind, data []byte) (importReply, error) {
	key := uploads.Key(Operator.UserID, job.NewID())
	if err := o.files.Put(ctx, key, data, "text/csv"); err != nil {
		return importReply{}, err
	}
	j, err := o.jobs.Create(ctx, Operator, job.MasterImport, map[string]string{"kind": string(kind)}, key, int64(len(data)))
	if err != nil {
		return importReply{}, err
	}
	for !j.State.Finished() {
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < importReserve {
			break
		}
		select {
		case <-ctx.Done():
			return importReply{}, ctx.Err()
		case <-time.After(importPoll):
		}
		if j, err = o.jobs.Store().GetJob(ctx, j.ID); err != nil {
			return importReply{}, err
		}
	}
	if j.State == job.Failed && j.Failure != nil {
		return importReply{}, apperr.New(apperr.Invalid, j.Failure.Message, j.Failure.MessageEn)
	}
	res := importReply{JobID: j.ID, State: j.State, Kind: kind, Encoding: j.Params["encoding"], Created: j.Counts["created"],
		Updated: j.Counts["updated"], Unchanged: j.Counts["unchanged"], Rejected: j.Counts["rejected"]}
	if res.Rejections, err = master.Rejections(ctx, o.jobs.Store(), j.ID, job.MaxProblems); err != nil {
		return importReply{}, err
	}
	return res, nil
}
