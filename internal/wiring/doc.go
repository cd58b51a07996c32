// Package wiring turns a resolved configuration into the runner the CLI
// and the function run: per organisation, a source client of
// SOURCE_TYPE's kind (registry/quay, registry/harbor or registry/oci, with
// the organisation's token or credentials) and a Quay destination client,
// over one shared transport per registry, with the configured pacing,
// time budget and logger, and the metrics of the runs: recorded, pushed
// with METRICS_PUSHGATEWAY, and the handler that serves them. It is the entry points' side of the runner's
// Backends factory and the only place that knows the concrete backends,
// so that the public runner knows nothing of Quay or of the environment.
package wiring
