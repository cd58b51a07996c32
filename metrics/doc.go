// Package metrics turns quaymirror's runs into Prometheus metrics, with
// Prometheus' own client library: a [Recorder] that a runner feeds
// (runner.WithObserver(rec.Observe)), a counting http.RoundTripper to put
// under the Quay clients ([Recorder.Transport], one attempt counted per
// retry), and a [Pusher] that hands the metrics of
// each finished run to a Pushgateway, as Prometheus documents for batch
// jobs: as the runner's observer ([Pusher.Observer]), or when told
// ([Pusher.Push]).
//
//	rec := metrics.NewRecorder()
//	base := rec.Transport(metrics.Destination, "acme", sharedTransport)
//	client, _ := quay.New(url, quay.WithTransport(base), quay.WithToken(tok))
//	r, _ := runner.New(backends, runner.WithObserver(rec.Observe))
//	prometheus.MustRegister(rec) // to scrape it; or push each
//	// organisation's run as it ends:
//	p, _ := metrics.NewPusher("http://pushgateway:9091", rec, nil)
//	r, _ = runner.New(backends, runner.WithObserver(p.Observer(logger)))
//
// # Metrics
//
// Every series is about one organisation pair, named by its source
// organisation (label organization):
//
//	quaymirror_last_run_timestamp_seconds{organization,command}
//	    when the last run of the command over the organisation ended
//	quaymirror_last_success_timestamp_seconds{organization,command}
//	    when the last successful one ended: a sync or plan whose outcome
//	    is ok, a check with no failed check, a status that found every
//	    mirror healthy, a verify that found nothing missing or stale
//	    (the runs whose exit code is 0)
//	quaymirror_last_run_success{organization,command}
//	    1 when the last run succeeded, 0 otherwise
//	quaymirror_repositories{organization,outcome}
//	    repositories by outcome (created, configured, updated, unchanged,
//	    skipped, orphaned, failed, not_started) in the last sync that
//	    listed the organisation (one stopped by its preflight does not)
//	quaymirror_mirrors{organization,status}
//	    destination mirrors by Quay's sync status (NEVER_RUN, SYNC_NOW,
//	    SYNCING, SUCCESS, FAIL, CANCEL, and UNKNOWN for any other), from
//	    the last status
//	quaymirror_mirror_problems{organization,problem}
//	    mirrors failing, stuck, never_run, disabled, unreadable, and
//	    source repositories missing or not_mirrored at the destination,
//	    from the last status
//	quaymirror_missing_tags{organization}
//	quaymirror_stale_tags{organization}
//	quaymirror_recovery_point_seconds{organization}
//	    tags missing, tags stale (another digest), both beyond the
//	    grace, and the age of the oldest source change still missing,
//	    from the last verify that compared every repository it could
//	    read
//	quaymirror_api_requests_total{organization,command,registry,method,code}
//	    HTTP requests to the registries, every retry attempt counted;
//	    registry is source or destination, code the status code or
//	    "error" when no answer came (refused, reset, timed out)
//
// command is sync, plan, check, status or verify. The transport
// counts what the client sends; a request that net/http re-sends by
// itself when a kept-alive connection turns out closed is one attempt. No label ever holds
// a URL, a repository name or a token, so the series are bounded by the
// configured organisations.
//
// # Pushing
//
// A Pusher pushes, per organisation, into the Pushgateway group
// {job="quaymirror", organization, command} with the POST method: only
// the metric names pushed are replaced in that group. So a status run
// does not erase the sync's series, and a failed run, which pushes no
// quaymirror_last_success_timestamp_seconds, leaves the last success in
// place. As the runner's observer it pushes each organisation once its
// run ends, stopped runs included, and only warns when a push fails: the
// CLI and the function (`quaymirror serve`) push this way.
package metrics
