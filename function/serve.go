package function

import (
	"context"
	"net/http"

	ce "knative.dev/func-go/cloudevents"
)

// maxBody bounds a request body. An event naming organisations is tiny.
const maxBody = 1 << 20

// Serve runs f with func-go's CloudEvents runtime on LISTEN_ADDRESS
// (default [::]:8080) until ctx ends, SIGINT or SIGTERM arrives, or f's
// Start fails (its error is Serve's). There is no read or write timeout
// (Knative's timeoutSeconds and the runner's budget bound a sync);
// headers must arrive within 2 s, bodies are capped at 1 MiB. debug turns
// func-go's own logs from warnings to debug. metrics, when not nil,
// answers /metrics on the same port (Knative allows one) from the moment
// the server listens; without it /metrics is 404.
func Serve(ctx context.Context, f *Function, debug bool, metrics http.Handler) error {
	ce.SetLogLevel(ce.LogWarn)
	if debug {
		ce.SetLogLevel(ce.LogDebug)
	}
	return newService(f, metrics).Start(ctx)
}

// newService wraps f in func-go's service with the timeouts lifted, and
// metrics at /metrics.
func newService(f *Function, metrics http.Handler) *ce.Service {
	svc := ce.New(f)
	svc.ReadTimeout = 0
	svc.WriteTimeout = 0
	if metrics == nil {
		metrics = http.NotFoundHandler()
	}
	inner := svc.Handler
	svc.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			metrics.ServeHTTP(w, r)
			return
		}
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
