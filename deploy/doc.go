// Package deploy holds quaymirror's Kubernetes deployment and the tooling
// around it, in a Go module of its own so that users of the SDK do not
// inherit the Kubernetes, Knative, kustomize and image-building
// dependencies.
//
// The kustomize tree (namespace acic-quay-org-mirror, the one of the job
// quaymirror replaces):
//
//	base/                    the namespace (protected from Argo CD's prune and delete),
//	                         the network policies and the cluster's CA bundle ConfigMap
//	components/image/        the image, pinned by digest (make image rewrites it)
//	components/dry-run/      DRY_RUN=true in every workload's own env
//	components/metrics-push/ METRICS_PUSHGATEWAY in every workload's own env
//	monitoring/              the Pushgateway, its ServiceMonitor and network policies,
//	                         the alert rules (PrometheusRule), the Grafana dashboard
//	function/                one organisation's Knative Service and PingSource (a template)
//	cronjob/                 one organisation's CronJob (a template)
//	status-verify/           one organisation's scheduled status and verify CronJobs (a template)
//	check/                   one organisation's `quaymirror check` Job (a template)
//	orgs/<org>/settings/     the organisation: name, robot, schedules (a component)
//	orgs/<org>/<variant>/    a template with the organisation's settings
//	overlays/default/        base + monitoring + the function, status and verify of the
//	                         three default organisations
//	overlays/cronjob/        base + monitoring + a CronJob, status and verify per
//	                         default organisation
//	overlays/check/          a check Job per default organisation, run by hand
//	overlays/dry-run/        a planning CronJob per default organisation (migration)
//	overlays/<org>/          one organisation's function, status and verify, beside
//	                         overlays/default
//	argocd/application.yaml  the Argo CD Application acic-quay-org-mirror
//	examples/                the ConfigMap quay-mirror-config the manifests read, and an
//	                         overlay tuning the alerts' thresholds
//
// The Secrets (quay-credentials, quay-source-api-tokens,
// quay-destination-api-tokens) and the ConfigMap quay-mirror-config are
// the team's: the manifests read them and never create them. Only the
// overlays Argo CD applies hold base and monitoring; those applied by hand
// hold their own workloads only, so deleting one never deletes the
// namespace.
//
// The tests of this package build every overlay offline with kustomize's
// krusty and decode every resource strictly into its real API type
// (Knative Service and PingSource with their defaults and validation,
// CronJob, Job, ConfigMap, Namespace, NetworkPolicy), then cross-check
// what the types cannot: every object is in the namespace, the namespace
// is protected, each organisation has its own workload and robot (the
// containers' environment resolved as the kubelet resolves it), the CA
// bundle is mounted where CA_BUNDLE points, the image is pinned by digest,
// the network policies let through only DNS, the registries and Knative,
// the PingSource sink names the Service, the schedules have a timezone
// and are staggered, no secret value appears anywhere, and TIMEOUT stays
// below the request timeout. For the monitoring they also decode the
// ServiceMonitor and PrometheusRule into prometheus-operator's types,
// check that every run pushes to the Pushgateway the ServiceMonitor
// scrapes, hand the PrometheusRule's own rules to `promtool test rules`
// (testdata/promtool; skipped without promtool, a failure with
// QUAYMIRROR_REQUIRE_TOOLS=1), and check that every query of the rules and
// of the dashboard names a metric of quaymirror's metrics package (a real
// Recorder describes them) with the labels it has.
//
// Package image (and cmd/build-image) builds the container image without
// a container engine. Run the tests from this directory: go test ./...
// (docs/deploy.md).
package deploy
