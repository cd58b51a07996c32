package function

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"sort"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Event types.
const (
	// PingEventType is the type of the events Handle accepts: a
	// PingSource tick.
	PingEventType = "dev.knative.sources.ping"
	// ReportEventType is the type of the reply.
	ReportEventType = "dev.quaymirror.sync.report"
)

// maxData bounds the event data Handle reads.
const maxData = 64 << 10

// request is what an event asks for.
type request struct {
	// Organizations are source organisation names, in the event's order
	// and without duplicates; empty means every configured one.
	Organizations []string
	DryRun        bool
}

// errBadRequest is wrapped by every error of parseRequest.
var errBadRequest = errors.New("bad event")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// parseRequest reads the organisations and the dry-run flag of e. Field
// names are matched case-sensitively and unknown fields are refused, so a
// misspelt key never silently means "every organisation".
func parseRequest(e event.Event) (request, error) {
	var req request
	if e.Type() != PingEventType {
		return req, badRequest("event type %s: want %s", clip(e.Type()), PingEventType)
	}
	data := e.Data()
	if len(data) > maxData {
		return req, badRequest("data is %d bytes, more than %d", len(data), maxData)
	}
	if len(data) == 0 {
		return req, nil
	}
	if ct := e.DataContentType(); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return req, badRequest("content type %s: want application/json", clip(ct))
		}
	}
	var fields map[string]json.RawMessage
	if err := strictJSON(data, &fields); err != nil {
		return req, badRequest("data is not a JSON object: %v", err)
	}
	var names []string
	for key, raw := range fields {
		var err error
		switch key {
		case "organization":
			var name string
			if err = strictJSON(raw, &name); err == nil {
				names = append(names, name)
			}
		case "organizations":
			var list []string
			if err = strictJSON(raw, &list); err == nil && len(list) == 0 {
				err = errors.New("empty list (leave the field out to mean every organization)")
			}
			names = append(names, list...)
		case "dry_run":
			err = strictJSON(raw, &req.DryRun)
		default:
			return req, badRequest("unknown field %s (want organization, organizations, dry_run)", clip(key))
		}
		if err != nil {
			return req, badRequest("field %s: %v", key, err)
		}
	}
	if _, one := fields["organization"]; one {
		if _, many := fields["organizations"]; many {
			return req, badRequest("give organization or organizations, not both")
		}
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" {
			return req, badRequest("empty organization name")
		}
		if !seen[n] {
			seen[n] = true
			req.Organizations = append(req.Organizations, n)
		}
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

// clip quotes s for an error message, cut to a sane length.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// orgNames lists names sorted, for messages.
func orgNames(names []string) string {
	s := append([]string(nil), names...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}
