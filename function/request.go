package function

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/quaymirror/quaymirror/runner"
)

// Event types: PingEventType is what Handle accepts (a PingSource tick),
// ReportEventType is the reply.
const (
	PingEventType   = "dev.knative.sources.ping"
	ReportEventType = "dev.quaymirror.sync.report"
)

// maxData bounds the event data Handle reads.
const maxData = 64 << 10

// request is what an event asks for.
type request struct {
	orgs   []runner.Org // in the event's order, without duplicates
	dryRun bool
}

// errBadRequest is wrapped by every error of parseRequest.
var errBadRequest = errors.New("bad event")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// parseRequest reads the organisations (among known; none means all) and
// the dry-run flag of e. Keys are matched case-sensitively and unknown
// ones refused, so a misspelt key never means "every organisation".
func parseRequest(e event.Event, known []runner.Org) (request, error) {
	req := request{orgs: known}
	data, ct := e.Data(), e.DataContentType()
	mt, _, ctErr := mime.ParseMediaType(ct)
	switch {
	case e.Type() != PingEventType:
		return req, badRequest("event type %.80q: want %s", e.Type(), PingEventType)
	case len(data) > maxData:
		return req, badRequest("data is %d bytes, more than %d", len(data), maxData)
	case len(data) == 0:
		return req, nil
	case ct != "" && (ctErr != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json")):
		return req, badRequest("content type %.80q: want application/json", ct)
	}
	var fields map[string]json.RawMessage
	if err := strictJSON(data, &fields); err != nil {
		return req, badRequest("data is not a JSON object: %v", err)
	}
	var one string
	var names []string
	targets := map[string]any{"organization": &one, "organizations": &names, "dry_run": &req.dryRun}
	for key, raw := range fields {
		if targets[key] == nil {
			return req, badRequest("unknown field %.80q (want organization, organizations, dry_run)", key)
		}
		if err := strictJSON(raw, targets[key]); err != nil {
			return req, badRequest("field %s: %v", key, err)
		}
	}
	_, hasOne := fields["organization"]
	_, hasMany := fields["organizations"]
	switch {
	case hasOne && hasMany:
		return req, badRequest("give organization or organizations, not both")
	case hasOne:
		names = []string{one}
	case hasMany && len(names) == 0:
		return req, badRequest("field organizations: empty list (leave it out to mean every organization)")
	}
	if slices.Contains(names, "") {
		return req, badRequest("empty organization name")
	}
	var err error
	if req.orgs, err = runner.Select(known, names...); err != nil {
		return req, badRequest("%v", err)
	}
	return req, nil
}

// strictJSON decodes exactly one JSON value into v.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
