package quaytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/emulation"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// maxBody bounds request bodies (Quay's nginx allows more, but nothing the
// API takes comes close).
const maxBody = 16 << 20

// call is one request being answered.
type call struct {
	e   *Emulator
	w   http.ResponseWriter
	r   *http.Request
	who fake.Caller
	match
}

// obj is a JSON object that keeps its keys in order, as Python dicts do.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.k)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// json writes v as Flask does: JSON and a newline.
func (c *call) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.html(http.StatusInternalServerError)
		return
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(append(b, '\n'))
}

// emptyString answers the JSON string "" (what Quay's handlers returning
// "" send).
func (c *call) emptyString(status int) { c.json(status, "") }

// noContent answers 204 with no body.
func (c *call) noContent() { c.w.WriteHeader(http.StatusNoContent) }

// apiError writes an ApiException body (endpoints/exception.py): payload
// keys, then detail, error_message, error_type, title, type, status.
func (c *call) apiError(status int, errType, detail string, payload ...kv) {
	o := obj(payload)
	o = append(o, kv{"detail", detail}, kv{"error_message", detail}, kv{"error_type", errType},
		kv{"title", errType}, kv{"type", c.errorTypeURL(errType)}, kv{"status", status})
	c.json(status, o)
}

func (c *call) errorTypeURL(errType string) string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host + "/api/v1/error/" + errType
}

// invalid is InvalidRequest: 400 invalid_request.
func (c *call) invalid(detail string) { c.apiError(http.StatusBadRequest, "invalid_request", detail) }

// notFound is NotFound: 404 not_found "Not Found".
func (c *call) notFound() { c.apiError(http.StatusNotFound, "not_found", "Not Found") }

// unauthorized is Unauthorized: 401 invalid_token for anonymous callers,
// 403 insufficient_scope for authenticated ones.
func (c *call) unauthorized() {
	if c.who.Anonymous() {
		c.apiError(http.StatusUnauthorized, "invalid_token", "Requires authentication")
		return
	}
	c.apiError(http.StatusForbidden, "insufficient_scope", "Unauthorized")
}

// detail writes a hand-returned {"detail": ...} body.
func (c *call) detail(status int, msg string) { c.json(status, obj{{"detail", msg}}) }

// message writes a {"message": ...} body: DataModelException (400) and
// Flask/Flask-RESTful aborts.
func (c *call) message(status int, msg string) { c.json(status, obj{{"message", msg}}) }

// html writes Werkzeug's default HTML error page: unmatched routes (404),
// wrong methods (405), unhandled exceptions (500).
func (c *call) html(status int) {
	writeWerkzeugHTML(c.w, status, c.e.version.flask2())
}

var werkzeugDescriptions = map[int]string{
	http.StatusNotFound:            "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
	http.StatusMethodNotAllowed:    "The method is not allowed for the requested URL.",
	http.StatusInternalServerError: "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
}

func writeWerkzeugHTML(w http.ResponseWriter, status int, modern bool) {
	title := fmt.Sprintf("%d %s", status, http.StatusText(status))
	head := "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n"
	if modern {
		head = "<!doctype html>\n<html lang=en>\n"
	}
	body := fmt.Sprintf("%s<title>%s</title>\n<h1>%s</h1>\n<p>%s</p>\n", head, title, http.StatusText(status), werkzeugDescriptions[status])
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// fail answers an error of the registry: a refusal (*fake.Error) with
// Quay's message, or what its hooks or injected failures returned.
func (c *call) fail(err error) {
	msg := err.Error()
	var refused *fake.Error
	if errors.As(err, &refused) {
		msg = refused.Message
	}
	switch {
	case errors.Is(err, quaymirror.ErrNotFound):
		c.notFound()
	case errors.Is(err, quaymirror.ErrAlreadyExists):
		c.detail(http.StatusConflict, msg)
	case errors.Is(err, quaymirror.ErrRobotNotFound), errors.Is(err, quaymirror.ErrInvalid) && refused != nil && refused.Field == quaymirror.FieldRobot:
		// A DataModelException of the mirror's robot set-up.
		c.message(http.StatusBadRequest, msg)
	case errors.Is(err, quaymirror.ErrInvalid), errors.Is(err, quaymirror.ErrOrgMirrored), errors.Is(err, quaymirror.ErrSourceNotAllowed):
		c.invalid(msg)
	case errors.Is(err, quaymirror.ErrUnauthorized):
		c.apiError(http.StatusUnauthorized, "invalid_token", msg)
	case errors.Is(err, quaymirror.ErrForbidden):
		c.apiError(http.StatusForbidden, "insufficient_scope", msg)
	case errors.Is(err, quaymirror.ErrRateLimited):
		emulation.WriteProxyError(c.w, http.StatusTooManyRequests)
	case errors.Is(err, quaymirror.ErrUnavailable):
		emulation.WriteProxyError(c.w, http.StatusServiceUnavailable)
	case errors.Is(err, quaymirror.ErrUnsupported):
		c.html(http.StatusNotFound)
	default:
		c.html(http.StatusInternalServerError)
	}
}

// invalidRequest answers err as those of Quay's handlers that turn a
// DataModelException into an InvalidRequest do: a refusal of the
// registry (*fake.Error) is a 400 with its message, unless it wraps one
// of the sentinels of except; fail answers those and any other error.
func (c *call) invalidRequest(err error, except ...error) {
	var refused *fake.Error
	if errors.As(err, &refused) && !slices.ContainsFunc(except, func(s error) bool { return errors.Is(err, s) }) {
		c.invalid(refused.Message)
		return
	}
	c.fail(err)
}

// body reads the JSON body as Quay's validate_json_request does and
// validates it against s. optional is validate_json_request(...,
// optional=True): a missing or undecodable body is then nil. On failure it
// answers and returns ok false.
func (c *call) body(s *schema, optional bool) (data map[string]any, ok bool) {
	raw, err := io.ReadAll(io.LimitReader(c.r.Body, maxBody))
	if err != nil {
		c.message(http.StatusBadRequest, "Failed to read the request body")
		return nil, false
	}
	var v any
	if isJSON(c.r.Header.Get("Content-Type")) {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		err := d.Decode(&v)
		if err == nil && d.More() {
			err = errors.New("Extra data")
		}
		if err != nil {
			if optional {
				return nil, true
			}
			c.message(http.StatusBadRequest, "Failed to decode JSON object: "+pythonJSONError(raw, err))
			return nil, false
		}
	} else if !optional && c.e.version.flask2() {
		c.message(http.StatusUnsupportedMediaType, "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.")
		return nil, false
	}
	if v == nil {
		if optional {
			return nil, true
		}
		c.invalid("Missing JSON body")
		return nil, false
	}
	if verr := validate(v, s); verr != nil {
		c.invalid(verr.Error())
		return nil, false
	}
	m, _ := v.(map[string]any) // every request schema is an object
	return m, true
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// pythonJSONError approximates json.JSONDecodeError's text for the common
// cases.
func pythonJSONError(raw []byte, err error) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "Expecting value: line 1 column 1 (char 0)"
	}
	return err.Error()
}
