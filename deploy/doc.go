// Package deploy holds quaymirror's Kubernetes deployment and the tooling
// around it, in a Go module of its own so that users of the SDK do not
// inherit the Kubernetes, Knative, kustomize and image-building
// dependencies.
//
// The kustomize tree:
//
//	base/                   namespace quay-mirror and the quay-mirror-config ConfigMap
//	function/               one organisation's Knative Service and PingSource (a template)
//	orgs/<org>/             that template named and configured for one organisation
//	overlays/<org>/         base + one organisation, deployable on its own
//	overlays/default/       base + the three default organisations
//	overlays/cronjob/       base + a CronJob running `quaymirror sync` instead
//	argocd/application.yaml an Argo CD Application for overlays/default
//
// The tests of this package build every overlay offline with kustomize's
// krusty and decode every resource strictly into its real API type
// (Knative Service and PingSource with their defaults and validation,
// CronJob, ConfigMap, Namespace), then cross-check what the types cannot:
// the PingSource sink names the Service, its data names the overlay's
// organisation, the Secrets are mounted read-only where the ConfigMap
// points, no secret value appears anywhere, and TIMEOUT stays below the
// request timeout.
//
// Package image (and cmd/build-image) builds the container image without
// a container engine. Run the tests from this directory: go test ./...
// (docs/deploy.md).
package deploy
