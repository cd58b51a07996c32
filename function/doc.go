// Package function is quaymirror's Knative function: a func-go CloudEvents
// instance woken by a PingSource that mirrors the organisations its
// CloudEvent names, with the same configuration, engine and report as the
// CLI.
//
// # Lifecycle
//
// [Serve] runs a [Function] with func-go's CloudEvents runtime on
// LISTEN_ADDRESS (default [::]:8080), with the server's 30 s read and write
// timeouts lifted so that a sync may outlast them: with them, a handler
// running past 30 s answers nothing, Knative turns that into a 502 and the
// PingSource delivers the tick again. `quaymirror serve` calls Serve.
//
// func-go calls [Function.Start] with its configuration map (the ./cfg file,
// if any, overlaid with the environment): the settings are those of the CLI
// (docs/configuration.md) and a bad one makes Start, hence the process,
// fail with a one-line error naming it. Requests that arrive before Start
// is done wait for it; /health/readiness answers 503 until then.
// [Function.Stop] stops starting repositories, lets the ones in flight
// finish and waits for them.
//
// # The event
//
// Any CloudEvent of type dev.knative.sources.ping. Its data, JSON, names the
// organisations (source names, as in ORGANIZATIONS):
//
//	{"organization": "internal-docker-io"}
//	{"organizations": ["internal-docker-io", "internal-acic-images"], "dry_run": true}
//
// No data (or {}) means every configured organisation. "dry_run": true
// plans without writing; it cannot turn off DRY_RUN=true.
//
// # The reply
//
// A CloudEvent of type dev.quaymirror.sync.report whose data is the JSON
// report of internal/app (the same as `quaymirror sync -o json`), with the
// extension "outcome": ok, partial, failed or preflight_failed. The HTTP
// status says what the PingSource adapter should do; it retries 404, 413,
// 425, 429, 502, 503 and 504 and nothing else, so no business outcome maps
// to those:
//
//	200  ok, or partial: the time budget ran out before every repository was
//	     started (report "interrupted": true); the next tick goes on
//	400  bad event: wrong type or content type, bad JSON, unknown
//	     organisation, a body over 1 MiB (no report)
//	500  some repository or organisation failed, or preflight failed (bad
//	     token, missing robot, mirroring disabled: nothing was written);
//	     the report says which. Retrying would fail alike; the next tick
//	     tries again.
//	503  only while the instance is starting or stopping (retried: the
//	     tick is worth delivering elsewhere)
//
// # Duplicates and time
//
// At most one sync of an organisation runs in a process at a time: a
// request for an organisation already being synced (a redelivered tick, a
// manual invocation) waits for that run and replies with its report. Dry
// runs are shared among themselves only. Each request has a time budget,
// TIMEOUT (DefaultTimeout when TIMEOUT is 0), counted from its arrival and
// shared by the organisations it names, which are synced one after the
// other, each with its own preflight. When the budget is spent no new
// repository is started, repositories in flight finish, and the report says
// "interrupted". Keep TIMEOUT below the Knative Service's timeoutSeconds by
// more than the two minutes a started repository may still take.
package function
