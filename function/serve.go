package function

import (
	"context"
	"net/http"
	"os"

	ce "knative.dev/func-go/cloudevents"

	"github.com/quaymirror/quaymirror/internal/config"
)

// maxBody bounds a request body. An event naming organisations is tiny.
const maxBody = 1 << 20

// Serve runs a new Function with func-go's CloudEvents runtime until ctx
// ends, SIGINT or SIGTERM arrives (func-go handles both), or Start fails.
// It listens on LISTEN_ADDRESS (func-go's default [::]:8080; the legacy
// ADDRESS/PORT pair is honoured too) and serves the event on / and
// /health/readiness, /health/liveness. Unlike func-go's defaults there is
// no read or write timeout, so a sync may take longer than 30 s: Knative's
// timeoutSeconds and TIMEOUT bound it instead. Request headers must still
// arrive within 2 s, and bodies are capped at 1 MiB.
//
// On shutdown func-go waits up to 30 s for requests in flight, then calls
// Stop, which interrupts the syncs still running. The error is Start's
// (a *config.Error for a bad setting, so errors.Is(err,
// config.ErrInvalid)), or a serving or shutdown error; nil after a clean
// stop.
func Serve(ctx context.Context) error { return ServeWith(ctx, nil) }

// ServeWith is Serve with the configuration taken from cfg (setting name
// to value) instead of func-go's map of the process environment; nil means
// the environment. `quaymirror serve` passes its flags this way.
func ServeWith(ctx context.Context, cfg map[string]string) error {
	debug := config.Bool(false)
	value, ok := cfg["DEBUG"]
	if !ok {
		value = os.Getenv("DEBUG")
	}
	_ = debug.EnvDecode(value) // validated again by Start
	if debug {
		ce.SetLogLevel(ce.LogDebug)
	} else {
		ce.SetLogLevel(ce.LogWarn)
	}
	f := New()
	f.cfgOverride = cfg
	svc := newService(f)
	return svc.Start(ctx)
}

// newService wraps f in func-go's service with the timeouts lifted.
func newService(f *Function) *ce.Service {
	svc := ce.New(f)
	svc.ReadTimeout = 0
	svc.WriteTimeout = 0
	inner := svc.Handler
	svc.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			// 400, not 413: the PingSource adapter retries 413.
			http.Error(w, "event larger than 1 MiB", http.StatusBadRequest)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		inner.ServeHTTP(w, r)
	})
	return svc
}
