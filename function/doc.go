// Package function is quaymirror's Knative function: a func-go
// CloudEvents instance woken by a PingSource, a thin skin over the runner
// (package runner), which owns the work: one run of an organisation at a
// time (a redelivered tick joins it), each organisation's own preflight,
// the time budget, the outcome.
//
// [New] takes a [Configure] that func-go's Start calls to build the
// [Setup]; its error stops the service. [Serve] runs a Function with
// func-go's runtime, its 30 s timeouts lifted so that a sync may outlast
// them. Until Start is done and after Stop, /health/readiness answers 503;
// Stop interrupts the runs and waits for their repositories in flight.
//
// The event is a CloudEvent of type dev.knative.sources.ping whose JSON
// data names source organisations; none (or no data) means all of them:
//
//	{"organization": "internal-docker-io"}
//	{"organizations": ["internal-docker-io", "internal-acic-images"], "dry_run": true}
//
// The reply is a CloudEvent of type dev.quaymirror.sync.report whose data
// is the runner.Result as JSON (as `quaymirror sync -o json` prints it)
// and whose extension "outcome" is its Outcome. The PingSource adapter
// retries 404, 413, 425, 429, 502, 503 and 504, so no outcome of a sync
// answers one of those ([Status]):
//
//	200  ok, or partial (the budget ran out or the instance stopped: the
//	     next tick goes on)
//	400  a bad event (type, content type, JSON, unknown organisation, a
//	     body over 1 MiB), without a report
//	500  failed or preflight_failed (the other organisations ran); the
//	     report says which. A retry would fail alike: the next tick retries.
//	503  only while the instance is starting or stopping (worth a retry)
//
// A PingSource drops the reply: with [Setup].Sink (K_SINK, set by a
// SinkBinding) the report event is also sent there; a failed send is
// logged as a warning and changes no status. Metrics are not the
// function's: the handler given to [Serve] answers /metrics on its port,
// and the runner's observer records each run and, with a Pushgateway,
// pushes it (package metrics), for the CLI and `quaymirror serve` alike.
package function
