package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the timezones are checked wherever the tests run

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/robfig/cron/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// What the deployment promises.
const (
	// namespace is the one of the job quaymirror replaces: its Secrets and
	// ConfigMap are there.
	namespace = "acic-quay-org-mirror"
	// clusterConfig is the team's ConfigMap: read, never shipped.
	clusterConfig = "quay-mirror-config"
	// orgConfig is the name, before suffix and hash, of each
	// organisation's generated ConfigMap.
	orgConfig = "quaymirror-org"
	// trustedCA is the ConfigMap OpenShift fills with the cluster's CA
	// bundle, under trustedCAKey, when it carries injectLabel.
	trustedCA    = "quaymirror-trusted-ca"
	trustedCAKey = "ca-bundle.crt"
	injectLabel  = "config.openshift.io/inject-trusted-cabundle"
	// defaultRobot is the robot of every organisation unless overridden.
	defaultRobot = "quay_mirror_robot"
	// maxRevisionTimeout is Knative's default max-revision-timeout-seconds.
	maxRevisionTimeout = 600
	// timeoutMargin: TIMEOUT leaves this long for the repositories in
	// flight to finish (quaymirror.DefaultRepositoryTimeout, 2 minutes)
	// and the report to be sent.
	timeoutMargin = 150 * time.Second
	// maxServiceName keeps Knative's derived names (<svc>-00001-private)
	// within 63 characters.
	maxServiceName = 63 - len("-00001-private")
	// maxCronJobName: the controller appends an 11-character suffix to
	// name its Jobs, which must stay within 63.
	maxCronJobName = 52
	// componentLabel says what a workload does: function, schedule (the
	// PingSource), cronjob (the sync), status, verify, check.
	componentLabel = "app.kubernetes.io/component"
)

var defaultOrgs = []string{"internal-registry-redhat-io", "internal-docker-io", "internal-acic-images"}

// clusterConfigKeys are the keys of quay-mirror-config in the job
// quaymirror replaces.
var clusterConfigKeys = []string{"SOURCE_REGISTRY", "DESTINATION_REGISTRY", "TAG_GLOB", "SYNC_INTERVAL", "DRY_RUN", "DEBUG", "RECREATE_MIRROR_CONFIG"}

// secretMounts maps each Secret to the setting naming its mount directory.
var secretMounts = map[string]string{
	"quay-credentials":            "QUAY_CREDENTIALS_DIR",
	"quay-source-api-tokens":      "SOURCE_TOKENS_DIR",
	"quay-destination-api-tokens": "DESTINATION_TOKENS_DIR",
}

// secretSettings hold secret values: they must come from the mounted
// Secrets, never from a manifest.
var secretSettings = []string{"SOURCE_TOKEN", "DESTINATION_TOKEN", "QUAY_PASSWORD"}

// robotKey is the key of quay-mirror-config that overrides an
// organisation's robot.
func robotKey(org string) string {
	return "ROBOT_NAME_" + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(org))
}

// build is one overlay built and decoded.
type build struct {
	dir        string
	namespaces []*corev1.Namespace
	configMaps map[string]*corev1.ConfigMap
	policies   map[string]*networkingv1.NetworkPolicy
	services   map[string]*servingv1.Service
	pings      map[string]*sourcesv1.PingSource
	cronJobs   map[string]*batchv1.CronJob
	jobs       map[string]*batchv1.Job
	// The monitoring (deploy/monitoring): the Pushgateway's Deployment and
	// Service, its ServiceMonitor, the alert rules.
	deployments     map[string]*appsv1.Deployment
	kubeServices    map[string]*corev1.Service
	serviceMonitors map[string]*monitoringv1.ServiceMonitor
	rules           map[string]*monitoringv1.PrometheusRule
}

func overlayDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("overlays")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) == 0 {
		t.Fatal("no overlays")
	}
	return dirs
}

// kustomize builds dir offline, from the files on disk, and checks that
// every namespaced object lands in the namespace.
func kustomize(t *testing.T, dir string) *build {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b := &build{dir: dir, configMaps: map[string]*corev1.ConfigMap{}, policies: map[string]*networkingv1.NetworkPolicy{},
		services: map[string]*servingv1.Service{}, pings: map[string]*sourcesv1.PingSource{},
		cronJobs: map[string]*batchv1.CronJob{}, jobs: map[string]*batchv1.Job{},
		deployments: map[string]*appsv1.Deployment{}, kubeServices: map[string]*corev1.Service{},
		serviceMonitors: map[string]*monitoringv1.ServiceMonitor{}, rules: map[string]*monitoringv1.PrometheusRule{}}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%s %s/%s", dir, r.GetKind(), r.GetName())
		gvk := r.GetApiVersion() + "/" + r.GetKind()
		if gvk != "v1/Namespace" && r.GetNamespace() != namespace {
			t.Errorf("%s is in namespace %q, want %s", id, r.GetNamespace(), namespace)
		}
		// Argo CD's label tracking sets it to the Application's name.
		if _, ok := r.GetLabels()["app.kubernetes.io/instance"]; ok {
			t.Errorf("%s sets app.kubernetes.io/instance, which Argo CD's label tracking overwrites", id)
		}
		switch gvk {
		case "v1/Namespace":
			b.namespaces = append(b.namespaces, decode[corev1.Namespace](t, id, y))
		case "v1/ConfigMap":
			b.configMaps[r.GetName()] = decode[corev1.ConfigMap](t, id, y)
		case "networking.k8s.io/v1/NetworkPolicy":
			b.policies[r.GetName()] = decode[networkingv1.NetworkPolicy](t, id, y)
		case "batch/v1/CronJob":
			b.cronJobs[r.GetName()] = decode[batchv1.CronJob](t, id, y)
		case "batch/v1/Job":
			b.jobs[r.GetName()] = decode[batchv1.Job](t, id, y)
		case "serving.knative.dev/v1/Service":
			b.services[r.GetName()] = decode[servingv1.Service](t, id, y)
		case "sources.knative.dev/v1/PingSource":
			b.pings[r.GetName()] = decode[sourcesv1.PingSource](t, id, y)
		case "apps/v1/Deployment":
			b.deployments[r.GetName()] = decode[appsv1.Deployment](t, id, y)
		case "v1/Service":
			b.kubeServices[r.GetName()] = decode[corev1.Service](t, id, y)
		case "monitoring.coreos.com/v1/ServiceMonitor":
			b.serviceMonitors[r.GetName()] = decode[monitoringv1.ServiceMonitor](t, id, y)
		case "monitoring.coreos.com/v1/PrometheusRule":
			b.rules[r.GetName()] = decode[monitoringv1.PrometheusRule](t, id, y)
		default:
			t.Errorf("%s: unexpected %s (a Secret, say, or a kind this test does not check yet)", id, gvk)
		}
	}
	return b
}

// decode decodes y strictly into a T: field names are matched
// case-sensitively and unknown fields are errors (sigs.k8s.io/yaml's own
// UnmarshalStrict matches case-insensitively).
func decode[T any](t *testing.T, id string, y []byte) *T {
	t.Helper()
	obj, err := decodeStrict[T](y)
	if err != nil {
		t.Errorf("%s: %v", id, err)
	}
	return obj
}

func decodeStrict[T any](y []byte) (*T, error) {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return nil, err
	}
	obj := new(T)
	strict, err := kjson.UnmarshalStrict(j, obj)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("strict decoding: %v", strict)
	}
	return obj, nil
}

func decodeFile[T any](t *testing.T, path string) *T {
	t.Helper()
	y, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := decodeStrict[T](y)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

func TestStrictDecodingIsCaseSensitive(t *testing.T) {
	t.Parallel()
	for _, y := range []string{
		"apiVersion: sources.knative.dev/v1\nkind: PingSource\nspec:\n  contenttype: application/json\n",
		"apiVersion: sources.knative.dev/v1\nkind: PingSource\nspec:\n  scheduel: '* * * * *'\n",
	} {
		if _, err := decodeStrict[sourcesv1.PingSource]([]byte(y)); err == nil {
			t.Errorf("accepted %q", y)
		}
	}
}

// overlaySpec says what an overlay deploys.
type overlaySpec struct {
	kind string   // function, cronjob or check
	orgs []string // the organisations it serves
	// base: the namespace-wide objects (deploy/base). Only what Argo CD
	// applies holds them: the overlays applied by hand hold their own
	// workloads only, so that `oc delete -k` of one of them never takes
	// the namespace, and the Secrets in it, along.
	base bool
	// monitoring: the Pushgateway, its ServiceMonitor and network
	// policies, the alert rules and the dashboard (deploy/monitoring),
	// namespace-wide too: only what Argo CD applies holds them.
	monitoring bool
	// statusVerify: a scheduled status and verify per organisation,
	// which, like every workload of the overlay, push their metrics to
	// the Pushgateway.
	statusVerify bool
	dryRun       bool // DRY_RUN=true whatever quay-mirror-config says
}

func overlayOf(t *testing.T, overlay string) overlaySpec {
	t.Helper()
	switch overlay {
	case "default":
		return overlaySpec{kind: "function", orgs: defaultOrgs, base: true, monitoring: true, statusVerify: true}
	case "cronjob":
		return overlaySpec{kind: "cronjob", orgs: defaultOrgs, base: true, monitoring: true, statusVerify: true}
	case "check":
		return overlaySpec{kind: "check", orgs: defaultOrgs}
	case "dry-run":
		return overlaySpec{kind: "cronjob", orgs: defaultOrgs, dryRun: true}
	}
	if _, err := os.Stat(filepath.Join("orgs", overlay, "settings")); err != nil {
		t.Fatalf("overlay %s is neither default, cronjob, check, dry-run nor an organisation of orgs/: teach this test what it deploys", overlay)
	}
	return overlaySpec{kind: "function", orgs: []string{overlay}, statusVerify: true}
}

func TestOverlays(t *testing.T) {
	t.Parallel()
	settings := documentedSettings(t)
	cluster := exampleClusterConfig(t)
	for _, overlay := range overlayDirs(t) {
		t.Run(overlay, func(t *testing.T) {
			t.Parallel()
			b := kustomize(t, filepath.Join("overlays", overlay))
			spec := overlayOf(t, overlay)
			if spec.base {
				b.checkBase(t)
			} else if len(b.namespaces)+len(b.policies) > 0 || b.configMaps[trustedCA] != nil {
				t.Errorf("overlay %s, applied by hand, holds namespace-wide objects: %d Namespaces, %d NetworkPolicies, %s %v",
					overlay, len(b.namespaces), len(b.policies), trustedCA, b.configMaps[trustedCA] != nil)
			}
			if spec.monitoring {
				b.checkMonitoring(t)
			} else if n := len(b.deployments) + len(b.kubeServices) + len(b.serviceMonitors) + len(b.rules); n > 0 || b.configMaps[dashboardConfigMap] != nil {
				t.Errorf("overlay %s holds %d objects of deploy/monitoring (dashboard %v), which only what Argo CD applies holds",
					overlay, n, b.configMaps[dashboardConfigMap] != nil)
			}
			b.checkConfigMaps(t, spec.orgs)

			counts := map[string]int{"function": len(b.services), "schedule": len(b.pings), "cronjob": 0, "status": 0, "verify": 0, "check": len(b.jobs)}
			for _, cj := range b.cronJobs {
				counts[cj.Labels[componentLabel]]++
			}
			want := map[string]int{spec.kind: len(spec.orgs)}
			if spec.kind == "function" {
				want["schedule"] = len(spec.orgs)
			}
			if spec.statusVerify {
				want["status"], want["verify"] = len(spec.orgs), len(spec.orgs)
			}
			for k, n := range counts {
				if n != want[k] {
					t.Errorf("%d %s objects, want %d (one per organisation of %v)", n, k, want[k], spec.orgs)
				}
			}

			served := map[string]string{} // what (function, status, ...) of which organisation → workload
			for _, w := range b.workloads() {
				org := b.checkWorkload(t, w, settings, cluster)
				role := w.labels[componentLabel] + " of " + org
				if prev, dup := served[role]; dup {
					t.Errorf("%s and %s are both the %s", prev, w.name, role)
				}
				served[role] = w.name
				env, err := effectiveEnv(w.pod.Containers[0], b.withCluster(cluster))
				if err != nil {
					t.Fatal(err)
				}
				if got := env["DRY_RUN"]; (got == "true") != spec.dryRun || (!spec.dryRun && got != cluster.Data["DRY_RUN"]) {
					t.Errorf("%s %s runs with DRY_RUN=%q (quay-mirror-config says %q); want the ConfigMap's, or true in a dry-run overlay",
						w.kind, w.name, got, cluster.Data["DRY_RUN"])
				}
				// The workloads deployed with the monitoring (and beside it)
				// push their metrics to its Pushgateway; the ones run by hand
				// beside the job or the deployment do not.
				if got, push := env["METRICS_PUSHGATEWAY"], spec.statusVerify; (push && got != pushgatewayURL) || (!push && got != "") {
					t.Errorf("%s %s pushes its metrics to %q; want %q in an overlay with status and verify, nothing elsewhere",
						w.kind, w.name, got, pushgatewayURL)
				}
			}
			roles := []string{spec.kind}
			if spec.statusVerify {
				roles = append(roles, "status", "verify")
			}
			for _, org := range spec.orgs {
				for _, role := range roles {
					if _, ok := served[role+" of "+org]; !ok {
						t.Errorf("no %s of %s", role, org)
					}
				}
			}
			for name, svc := range b.services {
				b.checkService(t, name, svc, cluster)
			}
			var schedules []string
			for name, ps := range b.pings {
				b.checkPingSource(t, name, ps)
				schedules = append(schedules, ps.Spec.Schedule)
			}
			for _, cj := range b.cronJobs {
				b.checkCronJob(t, cj, cluster)
				schedules = append(schedules, cj.Spec.Schedule)
			}
			for _, job := range b.jobs {
				checkJob(t, job)
			}
			checkStaggered(t, schedules)
		})
	}
}

// The overlays run by hand beside the deployment (check, dry-run) name
// their objects apart from what Argo CD applies: oc create would fail on a
// name taken, and oc delete -k would delete the deployment's object.
func TestHandRunOverlaysShareNoName(t *testing.T) {
	t.Parallel()
	deployed := map[string]string{}
	for _, overlay := range []string{"default", "cronjob"} {
		for _, r := range kustomizeIDs(t, filepath.Join("overlays", overlay)) {
			deployed[r] = overlay
		}
	}
	for _, overlay := range []string{"check", "dry-run"} {
		for _, r := range kustomizeIDs(t, filepath.Join("overlays", overlay)) {
			if other, ok := deployed[r]; ok {
				t.Errorf("overlays/%s and overlays/%s both hold %s", overlay, other, r)
			}
		}
	}
}

// kustomizeIDs lists the kind and name of every object dir builds.
func kustomizeIDs(t *testing.T, dir string) []string {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var ids []string
	for _, r := range m.Resources() {
		ids = append(ids, r.GetKind()+"/"+r.GetName())
	}
	return ids
}

func TestDefaultLeavesSandpitOut(t *testing.T) {
	t.Parallel()
	if slices.Contains(defaultOrgs, "internal-developer-sandpit") {
		t.Fatal("the sandpit is in the default set")
	}
	for _, overlay := range []string{"default", "cronjob", "check", "dry-run"} {
		b := kustomize(t, filepath.Join("overlays", overlay))
		for _, w := range b.workloads() {
			if strings.Contains(w.name, "sandpit") {
				t.Errorf("overlay %s deploys %s", overlay, w.name)
			}
		}
	}
}

// checkBase: the namespace, protected; the network policies; the CA
// bundle's ConfigMap.
func (b *build) checkBase(t *testing.T) {
	t.Helper()
	if len(b.namespaces) != 1 || b.namespaces[0].Name != namespace {
		t.Fatalf("want the one namespace %s", namespace)
	}
	ns := b.namespaces[0]
	// The namespace is shared with what else the team runs there: its pod
	// security level is theirs (the pods meet restricted: checkWorkload).
	for k := range ns.Labels {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			t.Errorf("namespace %s sets %s", ns.Name, k)
		}
	}
	opts := syncOptions(ns.Annotations)
	if opts["Prune"] != "false" || opts["Delete"] != "false" {
		t.Errorf("namespace %s is not protected from Argo CD: sync-options %v, want Prune=false and Delete=false", ns.Name, opts)
	}
	if len(b.policies) == 0 {
		t.Error("no NetworkPolicy")
	}
	cm := b.configMaps[trustedCA]
	switch {
	case cm == nil:
		t.Errorf("no ConfigMap %s for the cluster's CA bundle", trustedCA)
	case cm.Labels[injectLabel] != "true":
		t.Errorf("ConfigMap %s lacks the label %s=true: OpenShift will not fill it", trustedCA, injectLabel)
	case len(cm.Data)+len(cm.BinaryData) > 0:
		t.Errorf("ConfigMap %s has data: OpenShift owns it, and Argo CD would fight OpenShift over it", trustedCA)
	}
}

// syncOptions parses Argo CD's sync-options annotation: Key=value pairs
// separated by commas, white space trimmed.
func syncOptions(annotations map[string]string) map[string]string {
	out := map[string]string{}
	for _, opt := range strings.Split(annotations["argocd.argoproj.io/sync-options"], ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(opt), "="); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// checkConfigMaps: the only ConfigMaps are the CA bundle's and one per
// organisation; never quay-mirror-config, which is the team's.
func (b *build) checkConfigMaps(t *testing.T, orgs []string) {
	t.Helper()
	for name, cm := range b.configMaps {
		switch {
		case name == clusterConfig:
			t.Errorf("the overlay ships %s: it would overwrite the team's values", clusterConfig)
		case name == trustedCA, name == dashboardConfigMap:
		case strings.HasPrefix(name, orgConfig+"-"):
			org := cm.Data["ORGANIZATIONS"]
			if !slices.Contains(orgs, org) || !strings.HasPrefix(name, orgConfig+"-"+org+"-") {
				t.Errorf("ConfigMap %s holds ORGANIZATIONS=%q, want one of %v named after it", name, org, orgs)
			}
		default:
			t.Errorf("unexpected ConfigMap %s", name)
		}
		for _, s := range secretSettings {
			if _, ok := cm.Data[s]; ok {
				t.Errorf("ConfigMap %s holds the secret setting %s", name, s)
			}
		}
	}
}

// workload is what a Service, a CronJob and a Job have in common: a pod.
type workload struct {
	kind, name string
	labels     map[string]string // the pod's
	pod        corev1.PodSpec
}

func (b *build) workloads() []workload {
	var out []workload
	for n, s := range b.services {
		out = append(out, workload{"Service", n, s.Spec.Template.Labels, s.Spec.Template.Spec.PodSpec})
	}
	for n, c := range b.cronJobs {
		out = append(out, workload{"CronJob", n, c.Spec.JobTemplate.Spec.Template.Labels, c.Spec.JobTemplate.Spec.Template.Spec})
	}
	for n, j := range b.jobs {
		out = append(out, workload{"Job", n, j.Spec.Template.Labels, j.Spec.Template.Spec})
	}
	return out
}

var (
	// pinnedImage is a repository and a digest, no tag.
	pinnedImage = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$`)
	// robotName is a short robot name as Quay accepts it
	// (quaymirror.ValidRobotShortName: 2 to 255 lowercase letters and
	// digits in runs separated by one '.', '_' or '-'), or org+short.
	robotName = regexp.MustCompile(`^(?:[a-z0-9][a-z0-9._-]*\+)?[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
)

// checkWorkload checks what every workload shares and returns the
// organisation it serves.
func (b *build) checkWorkload(t *testing.T, w workload, settings map[string]bool, cluster *corev1.ConfigMap) string {
	t.Helper()
	what := w.kind + " " + w.name
	if len(w.pod.Containers) != 1 {
		t.Fatalf("%s has %d containers, want 1 (did a strategic-merge patch replace the list?)", what, len(w.pod.Containers))
	}
	if w.labels["app.kubernetes.io/name"] != "quaymirror" {
		t.Errorf("%s pods lack app.kubernetes.io/name=quaymirror (the network policy selects them by it)", what)
	}
	if w.pod.AutomountServiceAccountToken == nil || *w.pod.AutomountServiceAccountToken {
		t.Errorf("%s mounts a service account token it does not need", what)
	}
	c := w.pod.Containers[0]
	if !pinnedImage.MatchString(c.Image) {
		t.Errorf("%s image %q is not pinned by digest", what, c.Image)
	}
	if !restricted(c.SecurityContext) {
		t.Errorf("%s securityContext is not restricted: %+v", what, c.SecurityContext)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s has no memory limit", what)
	}

	// The settings: the cluster's ConfigMap, then the organisation's.
	if len(c.EnvFrom) != 2 {
		t.Fatalf("%s envFrom = %+v, want %s then the organisation's ConfigMap", what, c.EnvFrom, clusterConfig)
	}
	for i, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil || ef.Prefix != "" || (ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional) {
			t.Errorf("%s envFrom[%d] = %+v, want a required ConfigMap without prefix", what, i, ef)
		}
	}
	if c.EnvFrom[0].ConfigMapRef.Name != clusterConfig {
		t.Errorf("%s reads %s first, want %s (the organisation's values override it)", what, c.EnvFrom[0].ConfigMapRef.Name, clusterConfig)
	}
	orgCM := b.configMaps[c.EnvFrom[1].ConfigMapRef.Name]
	if orgCM == nil {
		t.Fatalf("%s reads ConfigMap %s, which the overlay does not make", what, c.EnvFrom[1].ConfigMapRef.Name)
	}
	org := orgCM.Data["ORGANIZATIONS"]
	if org == "" || strings.Contains(org, ",") {
		t.Fatalf("%s: ORGANIZATIONS = %q, want one organisation", what, org)
	}
	if !strings.Contains(w.name+"-", "-"+org+"-") {
		t.Errorf("%s serves %s but is not named after it", what, org)
	}
	if r := orgCM.Data["ROBOT_NAME"]; !robotName.MatchString(r) || len(r[strings.Index(r, "+")+1:]) < 2 ||
		(strings.Contains(r, "+") && !strings.HasPrefix(r, org+"+")) {
		t.Errorf("%s: ROBOT_NAME = %q, want a robot of %s", what, r, org)
	}
	for k := range orgCM.Data {
		if !settings[k] {
			t.Errorf("ConfigMap %s key %s is not a setting of docs/configuration.md", orgCM.Name, k)
		}
	}

	// The robot's override: first in env, optional, keyed by organisation.
	if len(c.Env) == 0 || c.Env[0].Name != "ROBOT_NAME" || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.ConfigMapKeyRef == nil {
		t.Fatalf("%s env[0] is not ROBOT_NAME from a ConfigMap key", what)
	}
	ref := c.Env[0].ValueFrom.ConfigMapKeyRef
	if ref.Name != clusterConfig || ref.Key != robotKey(org) || ref.Optional == nil || !*ref.Optional {
		t.Errorf("%s ROBOT_NAME comes from %s key %s (optional %v), want %s key %s, optional", what, ref.Name, ref.Key, ref.Optional, clusterConfig, robotKey(org))
	}
	for _, e := range c.Env {
		if e.Name != "LISTEN_ADDRESS" && !settings[e.Name] {
			t.Errorf("%s env %s is not a setting of docs/configuration.md", what, e.Name)
		}
		if slices.Contains(secretSettings, e.Name) {
			t.Errorf("%s sets the secret %s in its manifest: mount it from a Secret", what, e.Name)
		}
		if e.ValueFrom != nil && e.Name != "ROBOT_NAME" {
			t.Errorf("%s env %s comes from valueFrom; this deployment mounts Secrets as files", what, e.Name)
		}
		if e.Name == "ORGANIZATIONS" {
			t.Errorf("%s sets ORGANIZATIONS in env: it comes from the organisation's ConfigMap", what)
		}
	}
	env, err := effectiveEnv(c, b.withCluster(cluster))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if env["ORGANIZATIONS"] != org || env["ROBOT_NAME"] != orgCM.Data["ROBOT_NAME"] {
		t.Errorf("%s runs with ORGANIZATIONS=%q ROBOT_NAME=%q, want its organisation's", what, env["ORGANIZATIONS"], env["ROBOT_NAME"])
	}

	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
		if !m.ReadOnly {
			t.Errorf("%s mounts %s read-write", what, m.Name)
		}
		if m.SubPath != "" {
			t.Errorf("%s mounts %s with subPath (never refreshed)", what, m.Name)
		}
	}
	// The three Secrets, mounted where the settings point.
	seen := map[string]bool{}
	caUsed := false
	for _, v := range w.pod.Volumes {
		m, mounted := mounts[v.Name]
		switch {
		case v.Secret != nil:
			setting, ok := secretMounts[v.Secret.SecretName]
			if !ok {
				t.Errorf("%s mounts the unexpected Secret %s", what, v.Secret.SecretName)
				continue
			}
			seen[v.Secret.SecretName] = true
			switch {
			case !mounted:
				t.Errorf("%s does not mount the volume of Secret %s", what, v.Secret.SecretName)
			case env[setting] != m.MountPath:
				t.Errorf("%s mounts Secret %s at %s but %s = %q", what, v.Secret.SecretName, m.MountPath, setting, env[setting])
			}
			if v.Secret.Optional != nil && *v.Secret.Optional {
				t.Errorf("%s: Secret %s is optional; a missing one should stop the pod", what, v.Secret.SecretName)
			}
		case v.ConfigMap != nil && v.ConfigMap.Name == trustedCA:
			// The CA bundle: mounted, and CA_BUNDLE names the file.
			items := v.ConfigMap.Items
			if len(items) != 1 || items[0].Key != trustedCAKey {
				t.Errorf("%s mounts %s items %+v, want the one key %s", what, trustedCA, items, trustedCAKey)
				continue
			}
			if v.ConfigMap.Optional != nil && *v.ConfigMap.Optional {
				t.Errorf("%s: the CA bundle is optional; the pod would start without it", what)
			}
			if !mounted {
				t.Errorf("%s does not mount the CA bundle", what)
				continue
			}
			file := m.MountPath + "/" + items[0].Path
			if env["CA_BUNDLE"] != file {
				t.Errorf("%s mounts the CA bundle at %s but CA_BUNDLE = %q", what, file, env["CA_BUNDLE"])
			}
			caUsed = true
		default:
			t.Errorf("%s has the unexpected volume %s", what, v.Name)
		}
	}
	for secret := range secretMounts {
		if !seen[secret] {
			t.Errorf("%s does not mount Secret %s", what, secret)
		}
	}
	if !caUsed {
		t.Errorf("%s does not use the cluster's CA bundle (%s)", what, trustedCA)
	}
	return org
}

// checkService checks a Knative Service with Knative's own defaulting and
// validation, as its webhook would.
func (b *build) checkService(t *testing.T, name string, svc *servingv1.Service, cluster *corev1.ConfigMap) {
	t.Helper()
	if len(name) > maxServiceName {
		t.Errorf("Service name %s is longer than %d characters", name, maxServiceName)
	}
	if svc.Labels["networking.knative.dev/visibility"] != "cluster-local" {
		t.Errorf("Service %s is not cluster-local", name)
	}
	tmpl := svc.Spec.Template
	if tmpl.Labels["app.kubernetes.io/component"] != "function" {
		t.Errorf("Service %s pods are not labelled component=function (the network policy lets Knative reach those)", name)
	}
	if got := tmpl.Annotations["autoscaling.knative.dev/max-scale"]; got != "1" {
		t.Errorf("Service %s max-scale = %q, want 1", name, got)
	}
	spec := tmpl.Spec
	if spec.ContainerConcurrency == nil || *spec.ContainerConcurrency != 1 {
		t.Errorf("Service %s containerConcurrency is not 1", name)
	}
	c := spec.Containers[0]
	env, err := effectiveEnv(c, b.withCluster(cluster))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("Service %s args = %v, want [serve]", name, c.Args)
	}
	if env["LISTEN_ADDRESS"] != "[::]:8080" {
		t.Errorf("Service %s LISTEN_ADDRESS = %q, want [::]:8080", name, env["LISTEN_ADDRESS"])
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("Service %s ports = %+v, want 8080", name, c.Ports)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/health/readiness" {
		t.Errorf("Service %s has no readiness probe on /health/readiness", name)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/health/liveness" {
		t.Errorf("Service %s has no liveness probe on /health/liveness", name)
	}
	if spec.TimeoutSeconds == nil {
		t.Errorf("Service %s sets no timeoutSeconds", name)
	} else {
		ts := time.Duration(*spec.TimeoutSeconds) * time.Second
		if *spec.TimeoutSeconds > maxRevisionTimeout {
			t.Errorf("Service %s timeoutSeconds %d is above Knative's default cap %d", name, *spec.TimeoutSeconds, maxRevisionTimeout)
		}
		budget := settingDuration(t, "Service "+name, env["TIMEOUT"])
		if budget <= 0 || budget > ts-timeoutMargin {
			t.Errorf("Service %s TIMEOUT %v must be set and at least %v below timeoutSeconds (%v)", name, budget, timeoutMargin, ts)
		}
	}
	ctx := apis.WithinCreate(context.Background())
	svc = svc.DeepCopy()
	svc.SetDefaults(ctx)
	if err := svc.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
		t.Errorf("Service %s is invalid: %v", name, err)
	}
}

// checkPingSource checks a PingSource against the Service it wakes.
func (b *build) checkPingSource(t *testing.T, name string, ps *sourcesv1.PingSource) {
	t.Helper()
	ref := ps.Spec.Sink.Ref
	switch {
	case ref == nil:
		t.Fatalf("PingSource %s has no sink ref", name)
	case ref.APIVersion != "serving.knative.dev/v1" || ref.Kind != "Service":
		t.Errorf("PingSource %s sinks to %s %s, want a serving.knative.dev/v1 Service", name, ref.APIVersion, ref.Kind)
	case ref.Namespace != "" && ref.Namespace != ps.Namespace:
		t.Errorf("PingSource %s sinks to namespace %s", name, ref.Namespace)
	}
	svc := b.services[ref.Name]
	if svc == nil {
		t.Fatalf("PingSource %s sinks to Service %q, which this overlay does not deploy", name, ref.Name)
	}
	if ps.Spec.ContentType != "application/json" {
		t.Errorf("PingSource %s contentType = %q", name, ps.Spec.ContentType)
	}
	if _, err := cron.ParseStandard(ps.Spec.Schedule); err != nil {
		t.Errorf("PingSource %s schedule %q: %v", name, ps.Spec.Schedule, err)
	}
	checkTimezone(t, "PingSource "+name, ps.Spec.Timezone)
	var data struct {
		Organization string `json:"organization"`
	}
	if strict, err := kjson.UnmarshalStrict([]byte(ps.Spec.Data), &data); err != nil || len(strict) > 0 || data.Organization == "" {
		t.Errorf("PingSource %s data %q is not {\"organization\": name}: %v %v", name, ps.Spec.Data, err, strict)
	}
	c := svc.Spec.Template.Spec.Containers[0]
	if len(c.EnvFrom) == 2 {
		if cm := b.configMaps[c.EnvFrom[1].ConfigMapRef.Name]; cm == nil || cm.Data["ORGANIZATIONS"] != data.Organization {
			t.Errorf("PingSource %s asks for %q but its Service %s does not sync it", name, data.Organization, svc.Name)
		}
	}
	ctx := apis.WithinCreate(context.Background())
	ps = ps.DeepCopy()
	ps.SetDefaults(ctx)
	if err := ps.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
		t.Errorf("PingSource %s is invalid: %v", name, err)
	}
}

func (b *build) checkCronJob(t *testing.T, cj *batchv1.CronJob, cluster *corev1.ConfigMap) {
	t.Helper()
	name := "CronJob " + cj.Name
	if len(cj.Name) > maxCronJobName {
		t.Errorf("%s: name longer than %d characters", name, maxCronJobName)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("%s concurrencyPolicy = %q, want Forbid", name, cj.Spec.ConcurrencyPolicy)
	}
	if _, err := cron.ParseStandard(cj.Spec.Schedule); err != nil {
		t.Errorf("%s schedule %q: %v", name, cj.Spec.Schedule, err)
	}
	if cj.Spec.TimeZone == nil {
		t.Errorf("%s has no timeZone", name)
	} else {
		checkTimezone(t, name, *cj.Spec.TimeZone)
	}
	job := cj.Spec.JobTemplate.Spec
	pod := job.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s restartPolicy = %q, want Never (the next schedule retries)", name, pod.RestartPolicy)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("%s pod does not require a non-root user", name)
	}
	c := pod.Containers[0]
	// Each CronJob runs the command its component names; status reads
	// every mirror (--full), or the alerts on failing and stuck mirrors
	// would see one slice of a large organisation an hour.
	args := map[string][]string{"cronjob": {"sync"}, "status": {"status", "--full"}, "verify": {"verify"}}[cj.Labels[componentLabel]]
	if args == nil || !slices.Equal(c.Args, args) {
		t.Errorf("%s (component %q) args = %v, want %v", name, cj.Labels[componentLabel], c.Args, args)
	}
	if l := job.Template.Labels[componentLabel]; l != cj.Labels[componentLabel] {
		t.Errorf("%s pods are component %q, the CronJob %q", name, l, cj.Labels[componentLabel])
	}
	env, err := effectiveEnv(c, b.withCluster(cluster))
	if err != nil {
		t.Fatal(err)
	}
	if job.ActiveDeadlineSeconds == nil {
		t.Errorf("%s sets no activeDeadlineSeconds", name)
	} else {
		deadline := time.Duration(*job.ActiveDeadlineSeconds) * time.Second
		if budget := settingDuration(t, name, env["TIMEOUT"]); budget <= 0 || budget > deadline-timeoutMargin {
			t.Errorf("%s TIMEOUT %v must be set and at least %v below activeDeadlineSeconds (%v)", name, budget, timeoutMargin, deadline)
		}
	}
}

func checkJob(t *testing.T, job *batchv1.Job) {
	t.Helper()
	name := "Job " + job.Name
	pod := job.Spec.Template.Spec
	if c := pod.Containers[0]; !slices.Equal(c.Args, []string{"check"}) {
		t.Errorf("%s args = %v, want [check]", name, c.Args)
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever || job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
		t.Errorf("%s retries: a failed check should stay failed for its reader", name)
	}
	if job.Spec.ActiveDeadlineSeconds == nil || job.Spec.TTLSecondsAfterFinished == nil {
		t.Errorf("%s needs activeDeadlineSeconds and ttlSecondsAfterFinished", name)
	}
}

func checkTimezone(t *testing.T, what, tz string) {
	t.Helper()
	if tz == "" {
		t.Errorf("%s has no timezone: it would follow the cluster's", what)
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		t.Errorf("%s timezone %q: %v", what, tz, err)
	}
}

// checkStaggered: no two organisations start at the same minute.
func checkStaggered(t *testing.T, schedules []string) {
	t.Helper()
	next := map[time.Time]bool{}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range schedules {
		sched, err := cron.ParseStandard(s)
		if err != nil {
			continue // reported with its object
		}
		n := sched.Next(from)
		if next[n] {
			t.Errorf("two organisations start at %s: stagger their schedules", n.Format("15:04"))
		}
		next[n] = true
	}
}

// withCluster returns the overlay's ConfigMaps plus the team's
// quay-mirror-config.
func (b *build) withCluster(cluster *corev1.ConfigMap) map[string]*corev1.ConfigMap {
	cms := map[string]*corev1.ConfigMap{}
	for n, cm := range b.configMaps {
		cms[n] = cm
	}
	if cluster != nil {
		cms[cluster.Name] = cluster
	}
	return cms
}

// effectiveEnv is the environment the kubelet gives c, from
// pkg/kubelet/kubelet_pods.go (makeEnvironmentVariables): the envFrom
// ConfigMaps in order, each overriding the ones before; then env in order,
// each overriding; a configMapKeyRef marked optional whose ConfigMap or key
// is missing is skipped, leaving the variable as it was. A missing
// required source stops the pod (an error here).
func effectiveEnv(c corev1.Container, cms map[string]*corev1.ConfigMap) (map[string]string, error) {
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			return nil, fmt.Errorf("envFrom %+v: only ConfigMaps are modelled", ef)
		}
		cm := cms[ef.ConfigMapRef.Name]
		if cm == nil {
			if ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional {
				continue
			}
			return nil, fmt.Errorf("ConfigMap %s is missing", ef.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			env[ef.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case strings.Contains(e.Value, "$("):
			return nil, fmt.Errorf("env %s = %q: variable references are not modelled", e.Name, e.Value)
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			optional := ref.Optional != nil && *ref.Optional
			cm := cms[ref.Name]
			if cm == nil {
				if optional {
					continue
				}
				return nil, fmt.Errorf("ConfigMap %s is missing", ref.Name)
			}
			v, ok := cm.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return nil, fmt.Errorf("ConfigMap %s has no key %s", ref.Name, ref.Key)
			}
			env[e.Name] = v
		default:
			return nil, fmt.Errorf("env %s: only configMapKeyRef is modelled", e.Name)
		}
	}
	return env, nil
}

func TestEffectiveEnvFollowsTheKubelet(t *testing.T) {
	t.Parallel()
	yes := true
	c := corev1.Container{
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "a"}}},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "b"}}},
		},
		Env: []corev1.EnvVar{
			{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "a"}, Key: "X_OVERRIDE", Optional: &yes}}},
			{Name: "Z", Value: "literal"},
		},
	}
	cms := map[string]*corev1.ConfigMap{
		"a": {Data: map[string]string{"X": "from-a", "Y": "from-a", "Z": "from-a"}},
		"b": {Data: map[string]string{"X": "from-b"}},
	}
	env, err := effectiveEnv(c, cms)
	if err != nil {
		t.Fatal(err)
	}
	if env["X"] != "from-b" || env["Y"] != "from-a" || env["Z"] != "literal" {
		t.Errorf("without the key: %v, want X from b (the later envFrom), Y from a, Z literal", env)
	}
	cms["a"].Data["X_OVERRIDE"] = "override"
	if env, _ = effectiveEnv(c, cms); env["X"] != "override" {
		t.Errorf("with the key: X = %q, want override", env["X"])
	}
	delete(cms, "b")
	if _, err := effectiveEnv(c, cms); err == nil {
		t.Error("a missing required ConfigMap was accepted")
	}
}

// exampleClusterConfig is the team's quay-mirror-config as
// examples/quay-mirror-config.yaml shows it.
func exampleClusterConfig(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	return decodeFile[corev1.ConfigMap](t, filepath.Join("examples", "quay-mirror-config.yaml"))
}

func TestExampleClusterConfig(t *testing.T) {
	t.Parallel()
	cm := exampleClusterConfig(t)
	settings := documentedSettings(t)
	if cm.Name != clusterConfig || cm.Namespace != namespace {
		t.Errorf("example is %s/%s, want %s/%s", cm.Namespace, cm.Name, namespace, clusterConfig)
	}
	for _, k := range clusterConfigKeys {
		if _, ok := cm.Data[k]; !ok {
			t.Errorf("example lacks %s, a key of the job quaymirror replaces", k)
		}
	}
	for k := range cm.Data {
		if !settings[k] {
			t.Errorf("example key %s is not a setting of docs/configuration.md", k)
		}
		if slices.Contains(secretSettings, k) {
			t.Errorf("example holds the secret setting %s", k)
		}
	}
}

// Each organisation runs with its own robot, which the team's ConfigMap
// overrides per organisation without touching the others; what the team's
// ConfigMap says about ORGANIZATIONS or ROBOT_NAME globally cannot make
// one organisation's workload serve another.
func TestEachOrganisationHasItsOwnRobot(t *testing.T) {
	t.Parallel()
	for _, overlay := range []string{"default", "cronjob", "check"} {
		b := kustomize(t, filepath.Join("overlays", overlay))
		robots := func(extra map[string]string) map[string]string {
			t.Helper()
			cluster := exampleClusterConfig(t)
			for k, v := range extra {
				cluster.Data[k] = v
			}
			out := map[string]string{}
			for _, w := range b.workloads() {
				env, err := effectiveEnv(w.pod.Containers[0], b.withCluster(cluster))
				if err != nil {
					t.Fatalf("%s %s %s: %v", overlay, w.kind, w.name, err)
				}
				out[env["ORGANIZATIONS"]] = env["ROBOT_NAME"]
			}
			return out
		}
		got := robots(nil)
		for _, org := range defaultOrgs {
			if got[org] != defaultRobot {
				t.Errorf("%s: %s runs with robot %q, want %s", overlay, org, got[org], defaultRobot)
			}
		}
		if len(got) != len(defaultOrgs) {
			t.Errorf("%s: workloads serve %v, want one each of %v", overlay, got, defaultOrgs)
		}
		got = robots(map[string]string{robotKey("internal-docker-io"): "docker_bot", "ROBOT_NAME": "global_bot", "ORGANIZATIONS": "internal-acic-images"})
		for _, org := range defaultOrgs {
			want := defaultRobot
			if org == "internal-docker-io" {
				want = "docker_bot"
			}
			if got[org] != want {
				t.Errorf("%s with overrides: %s runs with robot %q, want %s", overlay, org, got[org], want)
			}
		}
		if len(got) != len(defaultOrgs) {
			t.Errorf("%s: a global ORGANIZATIONS in %s changed what the workloads serve: %v", overlay, clusterConfig, got)
		}
	}
}

func TestImagePinnedByDigest(t *testing.T) {
	t.Parallel()
	var component struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Images     []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			Digest  string `json:"digest"`
		} `json:"images"`
	}
	y, err := os.ReadFile(filepath.Join("components", "image", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(y, &component); err != nil {
		t.Fatal(err)
	}
	if len(component.Images) != 1 {
		t.Fatalf("components/image pins %d images, want 1", len(component.Images))
	}
	img := component.Images[0]
	repo := img.Name
	if img.NewName != "" {
		repo = img.NewName
	}
	want := repo + "@" + img.Digest
	if !pinnedImage.MatchString(want) {
		t.Fatalf("components/image pins %q, not a digest", want)
	}
	for _, overlay := range overlayDirs(t) {
		for _, w := range kustomize(t, filepath.Join("overlays", overlay)).workloads() {
			if got := w.pod.Containers[0].Image; got != want {
				t.Errorf("overlay %s %s %s runs %s, want %s", overlay, w.kind, w.name, got, want)
			}
		}
	}
}

// TestNetworkPolicy evaluates the policies of the default and CronJob
// overlays for each pod: what it may reach and who may reach it, the
// Pushgateway's pod included.
func TestNetworkPolicy(t *testing.T) {
	t.Parallel()
	type flow struct {
		peer  peer
		port  int32
		proto corev1.Protocol
		want  bool
	}
	outside := peer{} // an address outside the cluster
	inNS := func(ns string) peer { return peer{ns: ns, labels: map[string]string{"app": "something"}} }
	other := inNS(namespace) // another pod of the namespace
	egress := []flow{
		{inNS("openshift-dns"), 5353, corev1.ProtocolUDP, true},
		{inNS("openshift-dns"), 5353, corev1.ProtocolTCP, true},
		{inNS("kube-system"), 53, corev1.ProtocolUDP, true},
		{outside, 443, corev1.ProtocolTCP, true}, // a registry
		{outside, 53, corev1.ProtocolUDP, false}, // a resolver outside the cluster
		{outside, 80, corev1.ProtocolTCP, false},
		{outside, 22, corev1.ProtocolTCP, false},
		{outside, 9091, corev1.ProtocolTCP, false},
		{inNS("some-namespace"), 5353, corev1.ProtocolUDP, false},
		{other, 8080, corev1.ProtocolTCP, false},
		{other, 9091, corev1.ProtocolTCP, false},
	}
	ingressFunction := []flow{
		{inNS("knative-serving"), 8012, corev1.ProtocolTCP, true},
		{inNS("knative-serving-ingress"), 8012, corev1.ProtocolTCP, true},
		{inNS("knative-serving"), 9090, corev1.ProtocolTCP, true},
		{inNS("knative-eventing"), 8080, corev1.ProtocolTCP, false},
		{other, 8080, corev1.ProtocolTCP, false},
		{inNS("some-namespace"), 8012, corev1.ProtocolTCP, false},
		{outside, 8080, corev1.ProtocolTCP, false},
	}
	for _, overlay := range []string{"default", "cronjob"} {
		b := kustomize(t, filepath.Join("overlays", overlay))
		gw := b.deployments[pushgateway]
		if gw == nil {
			t.Fatalf("overlay %s has no Deployment %s", overlay, pushgateway)
		}
		gwPod := peer{ns: namespace, labels: gw.Spec.Template.Labels}
		for _, w := range b.workloads() {
			what := fmt.Sprintf("%s %s %s", overlay, w.kind, w.name)
			// Every run pushes its metrics to the Pushgateway, on its
			// port only.
			flows := append(slices.Clone(egress), flow{gwPod, 9091, corev1.ProtocolTCP, true}, flow{gwPod, 8080, corev1.ProtocolTCP, false})
			for _, f := range flows {
				if got := allowed(t, b.policies, w.labels, networkingv1.PolicyTypeEgress, f.peer, f.port, f.proto); got != f.want {
					t.Errorf("%s: egress to %+v port %d/%s allowed = %v, want %v", what, f.peer, f.port, f.proto, got, f.want)
				}
			}
			for _, f := range ingressFunction {
				want := f.want && w.kind == "Service"
				if got := allowed(t, b.policies, w.labels, networkingv1.PolicyTypeIngress, f.peer, f.port, f.proto); got != want {
					t.Errorf("%s: ingress from %+v port %d/%s allowed = %v, want %v", what, f.peer, f.port, f.proto, got, want)
				}
			}
			// The Pushgateway's side of the push.
			run := peer{ns: namespace, labels: w.labels}
			if !allowed(t, b.policies, gw.Spec.Template.Labels, networkingv1.PolicyTypeIngress, run, 9091, corev1.ProtocolTCP) {
				t.Errorf("%s: the Pushgateway does not accept its push", what)
			}
		}
		// The Pushgateway is scraped by the user-workload Prometheus, pushed
		// to by quaymirror's pods (above), and nothing else; it sends
		// nothing.
		for _, f := range []flow{
			{inNS("openshift-user-workload-monitoring"), 9091, corev1.ProtocolTCP, true},
			{inNS("openshift-user-workload-monitoring"), 8080, corev1.ProtocolTCP, false},
			{inNS("openshift-monitoring"), 9091, corev1.ProtocolTCP, false},
			{inNS("knative-serving"), 9091, corev1.ProtocolTCP, false},
			{other, 9091, corev1.ProtocolTCP, false},
			{outside, 9091, corev1.ProtocolTCP, false},
		} {
			if got := allowed(t, b.policies, gwPod.labels, networkingv1.PolicyTypeIngress, f.peer, f.port, f.proto); got != f.want {
				t.Errorf("%s Pushgateway: ingress from %+v port %d allowed = %v, want %v", overlay, f.peer, f.port, got, f.want)
			}
		}
		for _, f := range egress {
			if allowed(t, b.policies, gwPod.labels, networkingv1.PolicyTypeEgress, f.peer, f.port, f.proto) {
				t.Errorf("%s Pushgateway: egress to %+v port %d/%s allowed; it needs none", overlay, f.peer, f.port, f.proto)
			}
		}
	}
}

// peer is the other end of a flow: a pod of namespace ns labelled labels,
// or an address outside the cluster when ns is "".
type peer struct {
	ns     string
	labels map[string]string
}

// allowed says whether the policies let a pod labelled podLabels talk
// (dir) with p on port/proto. It follows the NetworkPolicy semantics: a
// pod no policy of that direction selects is unrestricted; otherwise a
// flow must match a rule of one of them. Namespaces carry only
// kubernetes.io/metadata.name; policies using what this does not model
// fail the test.
func allowed(t *testing.T, policies map[string]*networkingv1.NetworkPolicy, podLabels map[string]string, dir networkingv1.PolicyType, p peer, port int32, proto corev1.Protocol) bool {
	t.Helper()
	selected := false
	for name, pol := range policies {
		if !matchLabels(t, name, &pol.Spec.PodSelector, podLabels) || !slices.Contains(pol.Spec.PolicyTypes, dir) {
			continue
		}
		selected = true
		var rules [][]networkingv1.NetworkPolicyPeer
		var ports [][]networkingv1.NetworkPolicyPort
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range pol.Spec.Ingress {
				rules, ports = append(rules, r.From), append(ports, r.Ports)
			}
		} else {
			for _, r := range pol.Spec.Egress {
				rules, ports = append(rules, r.To), append(ports, r.Ports)
			}
		}
		for i := range rules {
			if peersMatch(t, name, rules[i], pol.Namespace, p) && portsMatch(t, name, ports[i], port, proto) {
				return true
			}
		}
	}
	return !selected
}

// peersMatch: an empty list matches everything; a peer with a pod
// selector only matches the pods of the policy's namespace it selects,
// one with a namespace selector the pods of the namespaces it selects
// (those its pod selector selects, when it has both).
func peersMatch(t *testing.T, policy string, peers []networkingv1.NetworkPolicyPeer, policyNS string, p peer) bool {
	if len(peers) == 0 {
		return true
	}
	for _, pp := range peers {
		if pp.IPBlock != nil {
			t.Fatalf("NetworkPolicy %s uses ipBlock, which this test does not model", policy)
		}
		if p.ns == "" {
			continue // a namespace or pod selector never matches an outside address
		}
		if pp.NamespaceSelector == nil && pp.PodSelector == nil {
			t.Fatalf("NetworkPolicy %s has an empty peer", policy)
		}
		nsOK := p.ns == policyNS
		if pp.NamespaceSelector != nil {
			nsOK = matchLabels(t, policy, pp.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": p.ns})
		}
		podOK := pp.PodSelector == nil || matchLabels(t, policy, pp.PodSelector, p.labels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func portsMatch(t *testing.T, policy string, ports []networkingv1.NetworkPolicyPort, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pr := corev1.ProtocolTCP
		if p.Protocol != nil {
			pr = *p.Protocol
		}
		if p.EndPort != nil || (p.Port != nil && p.Port.IntVal == 0) {
			t.Fatalf("NetworkPolicy %s uses a port range or a named port, which this test does not model", policy)
		}
		if pr == proto && (p.Port == nil || p.Port.IntVal == port) {
			return true
		}
	}
	return false
}

func matchLabels(t *testing.T, policy string, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("NetworkPolicy %s: %v", policy, err)
	}
	return s.Matches(labels.Set(set))
}

func TestNoSecretInAnyFile(t *testing.T) {
	t.Parallel()
	bad := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\s*kind:\s*Secret\s*$`),
		regexp.MustCompile(`(?m)^\s*stringData:`),
		regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
		regexp.MustCompile(`(?i)(password|token)\s*[:=]\s*['"]?[A-Za-z0-9+/_.-]{8,}`),
	}
	for _, s := range secretSettings {
		bad = append(bad, regexp.MustCompile(`(?m)(^\s*`+s+`\s*:|name:\s*`+s+`\s*$)`))
	}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range bad {
			if loc := re.FindIndex(data); loc != nil {
				t.Errorf("%s: %q looks like secret material", path, data[loc[0]:loc[1]])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The validation used above does reject what Knative's webhook rejects
// (so TestOverlays could fail).
func TestKnativeValidationIsEffective(t *testing.T) {
	t.Parallel()
	b := kustomize(t, "overlays/internal-docker-io")
	ctx := apis.WithinCreate(context.Background())
	for _, svc := range b.services {
		svc = svc.DeepCopy()
		long := int64(3600)
		svc.Spec.Template.Spec.TimeoutSeconds = &long
		svc.SetDefaults(ctx)
		if err := svc.Validate(ctx).Filter(apis.ErrorLevel); err == nil {
			t.Error("a 3600 s timeout passed validation")
		}
	}
	for _, ps := range b.pings {
		for _, bad := range []func(*sourcesv1.PingSource){
			func(ps *sourcesv1.PingSource) { ps.Spec.Data = "organization=acme" },
			func(ps *sourcesv1.PingSource) { ps.Spec.Timezone = "Mars/Olympus_Mons" },
		} {
			ps := ps.DeepCopy()
			bad(ps)
			ps.SetDefaults(ctx)
			if err := ps.Validate(ctx).Filter(apis.ErrorLevel); err == nil {
				t.Errorf("an invalid PingSource passed validation: %+v", ps.Spec)
			}
		}
	}
}

// application is the part of an Argo CD Application the example uses.
type application struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name       string   `json:"name"`
		Namespace  string   `json:"namespace"`
		Finalizers []string `json:"finalizers"`
	} `json:"metadata"`
	Spec struct {
		Project string `json:"project"`
		Source  struct {
			RepoURL        string `json:"repoURL"`
			TargetRevision string `json:"targetRevision"`
			Path           string `json:"path"`
		} `json:"source"`
		Destination struct {
			Server    string `json:"server"`
			Namespace string `json:"namespace"`
		} `json:"destination"`
		IgnoreDifferences []struct {
			Group        string   `json:"group"`
			Kind         string   `json:"kind"`
			Name         string   `json:"name"`
			JSONPointers []string `json:"jsonPointers"`
		} `json:"ignoreDifferences"`
		SyncPolicy struct {
			Automated struct {
				Prune    bool `json:"prune"`
				SelfHeal bool `json:"selfHeal"`
			} `json:"automated"`
			SyncOptions []string `json:"syncOptions"`
			Retry       struct {
				Limit   int `json:"limit"`
				Backoff struct {
					Duration    string `json:"duration"`
					Factor      int    `json:"factor"`
					MaxDuration string `json:"maxDuration"`
				} `json:"backoff"`
			} `json:"retry"`
		} `json:"syncPolicy"`
	} `json:"spec"`
}

func TestArgoCDApplication(t *testing.T) {
	t.Parallel()
	app := decodeFile[application](t, "argocd/application.yaml")
	if app.APIVersion != "argoproj.io/v1alpha1" || app.Kind != "Application" {
		t.Errorf("kind = %s %s", app.APIVersion, app.Kind)
	}
	if app.Metadata.Name != namespace {
		t.Errorf("Application %s: the job's is %s, and moving over keeps it", app.Metadata.Name, namespace)
	}
	path, ok := strings.CutPrefix(app.Spec.Source.Path, "deploy/")
	if !ok {
		t.Fatalf("source.path %q is not under deploy/", app.Spec.Source.Path)
	}
	b := kustomize(t, path)
	if len(b.namespaces) != 1 || app.Spec.Destination.Namespace != b.namespaces[0].Name {
		t.Fatalf("destination namespace %q is not the overlay's", app.Spec.Destination.Namespace)
	}
	// Pruning and the deletion finalizer remove what Argo CD manages:
	// the namespace must say no to both, or the hand-made Secrets go too.
	opts := syncOptions(b.namespaces[0].Annotations)
	if app.Spec.SyncPolicy.Automated.Prune && opts["Prune"] != "false" {
		t.Error("the Application prunes and the namespace does not say Prune=false")
	}
	if slices.Contains(app.Metadata.Finalizers, "resources-finalizer.argocd.argoproj.io") && opts["Delete"] != "false" {
		t.Error("the Application deletes its resources with it and the namespace does not say Delete=false")
	}
	for _, d := range app.Spec.IgnoreDifferences {
		if d.Kind != "ConfigMap" || b.configMaps[d.Name] == nil {
			t.Errorf("ignoreDifferences names %s %s, not a ConfigMap of the overlay", d.Kind, d.Name)
		}
	}
	for _, d := range []string{app.Spec.SyncPolicy.Retry.Backoff.Duration, app.Spec.SyncPolicy.Retry.Backoff.MaxDuration} {
		if _, err := time.ParseDuration(d); err != nil {
			t.Errorf("retry backoff %q: %v", d, err)
		}
	}
}

// settingDuration parses a duration setting as quaymirror does: whole
// seconds or a Go duration.
func settingDuration(t *testing.T, what, v string) time.Duration {
	t.Helper()
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Errorf("%s: %q is not a duration", what, v)
	}
	return d
}

// documentedSettings reads the environment variable names from the
// generated tables of docs/configuration.md, so a manifest cannot use a
// setting quaymirror does not have.
func documentedSettings(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|").FindAllSubmatch(doc, -1) {
		out[string(m[1])] = true
	}
	if len(out) < 10 {
		t.Fatalf("found only %d settings in docs/configuration.md", len(out))
	}
	for _, s := range append(slices.Clone(secretSettings), "TIMEOUT", "ORGANIZATIONS", "ROBOT_NAME", "CA_BUNDLE") {
		if !out[s] {
			t.Fatalf("docs/configuration.md does not document %s: update this test", s)
		}
	}
	// The per-organisation robot overrides are keys of quay-mirror-config
	// read by the manifests, not by quaymirror.
	for _, org := range orgDirs(t) {
		out[robotKey(org)] = true
	}
	return out
}

func orgDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("orgs")
	if err != nil {
		t.Fatal(err)
	}
	var orgs []string
	for _, e := range entries {
		if e.IsDir() {
			orgs = append(orgs, e.Name())
		}
	}
	return orgs
}

// The site overlay of docs/deploy.md: another registry keeps the pinned
// digest, a timezone patch reaches every PingSource, and a CA bundle of
// one's own fills the ConfigMap the workloads mount.
func TestSiteOverlay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	overlay, err := filepath.Abs(filepath.Join("overlays", "default"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, overlay)
	if err != nil {
		t.Fatal(err)
	}
	site := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ` + rel + `
images:
  - name: quay.io/quaymirror/quaymirror
    newName: registry.example.com/quaymirror/quaymirror
patches:
  - target:
      kind: PingSource
    patch: |-
      - op: replace
        path: /spec/timezone
        value: Australia/Sydney
configMapGenerator:
  - name: quaymirror-trusted-ca
    behavior: merge
    files:
      - ca-bundle.crt=my-ca-bundle.pem
    options:
      disableNameSuffixHash: true
`
	pem := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	for name, data := range map[string]string{"kustomization.yaml": site, "my-ca-bundle.pem": pem} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	upstream := kustomize(t, filepath.Join("overlays", "default"))
	b := kustomize(t, dir)
	_, digest, _ := strings.Cut(upstream.workloads()[0].pod.Containers[0].Image, "@")
	for _, w := range b.workloads() {
		if got := w.pod.Containers[0].Image; got != "registry.example.com/quaymirror/quaymirror@"+digest {
			t.Errorf("%s runs %s, want the pinned digest %s from registry.example.com", w.name, got, digest)
		}
		if !slices.ContainsFunc(w.pod.Volumes, func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == trustedCA }) {
			t.Errorf("%s no longer mounts %s", w.name, trustedCA)
		}
	}
	for name, ps := range b.pings {
		if ps.Spec.Timezone != "Australia/Sydney" {
			t.Errorf("PingSource %s timezone %q", name, ps.Spec.Timezone)
		}
	}
	if cm := b.configMaps[trustedCA]; cm == nil || cm.Data[trustedCAKey] != pem {
		t.Errorf("the site's CA bundle is not in %s", trustedCA)
	}
}
