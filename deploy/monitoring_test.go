package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metricsql"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/runner"
)

// What the monitoring (deploy/monitoring) promises.
const (
	// pushgateway names the Pushgateway's Deployment and Service.
	pushgateway = "quaymirror-pushgateway"
	// pushgatewayURL is METRICS_PUSHGATEWAY of every workload that pushes.
	pushgatewayURL = "http://quaymirror-pushgateway:9091"
	// ruleName is the PrometheusRule holding the alerts.
	ruleName = "quaymirror"
	// dashboardConfigMap holds the dashboard, dashboardFile, under
	// dashboardKey.
	dashboardConfigMap = "quaymirror-dashboard"
	dashboardKey       = "quaymirror.json"
	dashboardFile      = "monitoring/dashboards/quaymirror.json"
	// evaluationScope makes OpenShift's user-workload Prometheus evaluate
	// the rules itself.
	evaluationScope = "openshift.io/prometheus-rule-evaluation-scope"
	// thresholdPrefix names the records holding the alerts' thresholds.
	thresholdPrefix = "quaymirror:threshold:"
	// requireToolsEnv=1 makes a missing tool a failure rather than a skip
	// (.ci/run sets it).
	requireToolsEnv = "QUAYMIRROR_REQUIRE_TOOLS"
	// operationsDoc holds the runbook: a heading per alert.
	operationsDoc = "../docs/operations.md"
	// runbookBase is where each alert's runbook_url points, plus the
	// heading's anchor.
	runbookBase = "https://github.com/quaymirror/quaymirror/blob/main/docs/operations.md#"
)

// checkMonitoring checks what an overlay with deploy/monitoring holds: a
// Pushgateway the runs can reach at pushgatewayURL, scraped through a
// ServiceMonitor, the rules, the dashboard.
func (b *build) checkMonitoring(t *testing.T) {
	t.Helper()
	d := b.deployments[pushgateway]
	if d == nil || len(b.deployments) != 1 {
		t.Fatalf("%s: want the one Deployment %s, have %d", b.dir, pushgateway, len(b.deployments))
	}
	// One replica: two would each hold part of the pushes.
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
		t.Errorf("Deployment %s: replicas %v, strategy %q; want 1 and Recreate, never two Pushgateways at once", pushgateway, d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template
	if !matchLabels(t, "Deployment "+pushgateway, d.Spec.Selector, pod.Labels) {
		t.Errorf("Deployment %s does not select its own pods", pushgateway)
	}
	if pod.Labels["app.kubernetes.io/name"] == "quaymirror" {
		t.Errorf("the Pushgateway's pods are labelled like quaymirror's: quaymirror's network policies would apply to them")
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Errorf("Deployment %s mounts a service account token it does not need", pushgateway)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("Deployment %s has %d containers, want 1", pushgateway, len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if !pinnedImage.MatchString(c.Image) && !versionedImage.MatchString(c.Image) {
		t.Errorf("Deployment %s runs %q: want a release tag (vX.Y.Z) or a digest, never a moving tag", pushgateway, c.Image)
	}
	if !restricted(c.SecurityContext) {
		t.Errorf("Deployment %s securityContext is not restricted: %+v", pushgateway, c.SecurityContext)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("Deployment %s has no memory limit", pushgateway)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil {
		t.Errorf("Deployment %s lacks HTTP readiness and liveness probes", pushgateway)
	}
	// The flags name a port the container declares and a persistence file
	// on a mounted volume (the root file system is read-only).
	flags := map[string]string{}
	for _, a := range c.Args {
		if k, v, ok := strings.Cut(a, "="); ok {
			flags[k] = v
		}
	}
	_, listenPort, _ := strings.Cut(flags["--web.listen-address"], ":")
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return strconv.Itoa(int(p.ContainerPort)) == listenPort }) {
		t.Errorf("the Pushgateway listens on %q, a port its container does not declare (%+v)", flags["--web.listen-address"], c.Ports)
	}
	if f := flags["--persistence.file"]; f == "" || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return strings.HasPrefix(f, strings.TrimSuffix(m.MountPath, "/")+"/") && !m.ReadOnly
	}) {
		t.Errorf("the Pushgateway's --persistence.file %q is not on a writable volume", f)
	}

	// The Service the runs push to, which METRICS_PUSHGATEWAY names.
	svc := b.kubeServices[pushgateway]
	if svc == nil || len(b.kubeServices) != 1 {
		t.Fatalf("%s: want the one Service %s", b.dir, pushgateway)
	}
	if !matchLabels(t, "Service "+pushgateway, metav1Selector(svc.Spec.Selector), pod.Labels) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service %s does not select the Pushgateway's pods", pushgateway)
	}
	u, err := url.Parse(pushgatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != svc.Name {
		t.Errorf("METRICS_PUSHGATEWAY %s does not name the Service %s", pushgatewayURL, svc.Name)
	}
	var port *corev1.ServicePort
	for i, p := range svc.Spec.Ports {
		if strconv.Itoa(int(p.Port)) == u.Port() {
			port = &svc.Spec.Ports[i]
		}
	}
	switch {
	case port == nil:
		t.Errorf("METRICS_PUSHGATEWAY %s: the Service %s has no port %s", pushgatewayURL, svc.Name, u.Port())
	case port.TargetPort.Type != intstr.String || !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
		return p.Name == port.TargetPort.StrVal && strconv.Itoa(int(p.ContainerPort)) == listenPort
	}):
		t.Errorf("Service %s port %d targets %q, not the Pushgateway's named port", svc.Name, port.Port, port.TargetPort.String())
	}

	// The ServiceMonitor has the user-workload Prometheus scrape that
	// Service, keeping the pushed labels.
	sm := b.serviceMonitors[pushgateway]
	if sm == nil || len(b.serviceMonitors) != 1 {
		t.Fatalf("%s: want the one ServiceMonitor %s", b.dir, pushgateway)
	}
	if !matchLabels(t, "ServiceMonitor "+sm.Name, &sm.Spec.Selector, svc.Labels) || len(sm.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("ServiceMonitor %s does not select the Service %s", sm.Name, svc.Name)
	}
	if ns := sm.Spec.NamespaceSelector; ns.Any || len(ns.MatchNames) > 0 {
		t.Errorf("ServiceMonitor %s looks beyond its namespace (%+v); OpenShift ignores that for user projects", sm.Name, ns)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor %s has %d endpoints, want 1", sm.Name, len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if port == nil || ep.Port != port.Name {
		t.Errorf("ServiceMonitor %s scrapes port %q, not the Service's %v", sm.Name, ep.Port, port)
	}
	// Prometheus documents honor_labels for a Pushgateway: the pushed job
	// label wins over the scrape's.
	if !ep.HonorLabels {
		t.Errorf("ServiceMonitor %s: honorLabels is false; a Pushgateway is scraped with honor_labels", sm.Name)
	}

	r := b.rules[ruleName]
	if r == nil || len(b.rules) != 1 {
		t.Fatalf("%s: want the one PrometheusRule %s", b.dir, ruleName)
	}
	if r.Labels[evaluationScope] != "leaf-prometheus" {
		t.Errorf("PrometheusRule %s lacks %s=leaf-prometheus", r.Name, evaluationScope)
	}

	cm := b.configMaps[dashboardConfigMap]
	file, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case cm == nil:
		t.Errorf("%s: no ConfigMap %s", b.dir, dashboardConfigMap)
	case cm.Data[dashboardKey] != string(file) || len(cm.Data) != 1:
		t.Errorf("ConfigMap %s does not hold exactly %s under %s", dashboardConfigMap, dashboardFile, dashboardKey)
	case cm.Labels["grafana_dashboard"] != "1":
		t.Errorf("ConfigMap %s lacks the label grafana_dashboard=1 that Grafana's dashboard sidecar watches", dashboardConfigMap)
	}
}

// versionedImage is a repository and a release tag.
var versionedImage = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+:v[0-9]+\.[0-9]+\.[0-9]+$`)

// restricted: what the restricted pod security profile asks of a
// container, and a read-only root file system.
func restricted(sc *corev1.SecurityContext) bool {
	return sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot &&
		sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation &&
		sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem &&
		sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(sc.Capabilities.Add) == 0 &&
		sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault &&
		(sc.Privileged == nil || !*sc.Privileged)
}

// defaultRules is the PrometheusRule of overlays/default.
func defaultRules(t *testing.T) *monitoringv1.PrometheusRule {
	t.Helper()
	r := kustomize(t, filepath.Join("overlays", "default")).rules[ruleName]
	if r == nil {
		t.Fatalf("overlays/default has no PrometheusRule %s", ruleName)
	}
	return r
}

// rulesFile is spec as a Prometheus rules file, serialised as
// prometheus-operator does to hand it to Prometheus.
func rulesFile(t *testing.T, spec monitoringv1.PrometheusRuleSpec) []byte {
	t.Helper()
	y, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// enforceNamespace rewrites spec as OpenShift's user-workload monitoring
// does (prometheus-operator's enforcedNamespaceLabel): every rule gets
// the label namespace=ns, every selector the matcher namespace="ns".
// promtool then parses what this prints, with Prometheus' own parser.
func enforceNamespace(t *testing.T, spec monitoringv1.PrometheusRuleSpec, ns string) monitoringv1.PrometheusRuleSpec {
	t.Helper()
	out := *spec.DeepCopy()
	for gi := range out.Groups {
		for ri := range out.Groups[gi].Rules {
			r := &out.Groups[gi].Rules[ri]
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			r.Labels["namespace"] = ns
			expr, err := metricsql.Parse(r.Expr.String())
			if err != nil {
				t.Fatalf("%q: %v", r.Expr.String(), err)
			}
			metricsql.VisitAll(expr, func(e metricsql.Expr) {
				if me, ok := e.(*metricsql.MetricExpr); ok {
					for i, lfs := range me.LabelFilterss {
						lfs = slices.DeleteFunc(lfs, func(f metricsql.LabelFilter) bool { return f.Label == "namespace" })
						me.LabelFilterss[i] = append(lfs, metricsql.LabelFilter{Label: "namespace", Value: ns})
					}
				}
			})
			r.Expr = intstr.FromString(string(expr.AppendString(nil)))
		}
	}
	return out
}

// promtool finds Debian's promtool (package prometheus), or skips the
// test: fails it when QUAYMIRROR_REQUIRE_TOOLS=1.
func promtool(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		msg := "no promtool: the alert rules are not unit-tested; install Debian's prometheus (apt-get install -y prometheus), as .ci/run does"
		if os.Getenv(requireToolsEnv) == "1" {
			t.Fatal(msg + " (" + requireToolsEnv + "=1)")
		}
		t.Skip(msg)
	}
	return bin
}

// promtoolTests are the unit tests of the rules, for promtool test rules;
// each names the rules file rules.yaml.
func promtoolTests(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "promtool", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no promtool tests in testdata/promtool: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// TestAlertRules hands the rules of the PrometheusRule that overlays/default
// deploys to promtool: first as they are, then as OpenShift rewrites them
// for a user project (the namespace label enforced), and runs the unit
// tests of testdata/promtool on both.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	spec := defaultRules(t).Spec
	for _, v := range []struct {
		name  string
		spec  monitoringv1.PrometheusRuleSpec
		tests func([]byte) []byte
	}{
		{"as shipped", spec, func(b []byte) []byte { return b }},
		{"namespace enforced", enforceNamespace(t, spec, namespace), func(b []byte) []byte { return withNamespace(t, b, namespace) }},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rulesFile(t, v.spec), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"test", "rules"}
		for name, b := range promtoolTests(t) {
			if err := os.WriteFile(filepath.Join(dir, name), v.tests(b), 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, name)
		}
		for _, a := range [][]string{{"check", "rules", "rules.yaml"}, args} {
			cmd := exec.Command(bin, a...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("rules %s: promtool %s: %v\n%s", v.name, strings.Join(a, " "), err, out)
			}
		}
	}
}

// withNamespace adds namespace=ns to the labels of every alert a promtool
// test expects, as the enforcement adds it to every alert.
func withNamespace(t *testing.T, test []byte, ns string) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(test, &doc); err != nil {
		t.Fatal(err)
	}
	tests, _ := doc["tests"].([]any)
	for _, tg := range tests {
		cases, _ := tg.(map[string]any)["alert_rule_test"].([]any)
		for _, c := range cases {
			alerts, _ := c.(map[string]any)["exp_alerts"].([]any)
			for _, a := range alerts {
				a := a.(map[string]any)
				l, _ := a["exp_labels"].(map[string]any)
				if l == nil {
					l = map[string]any{}
					a["exp_labels"] = l
				}
				l["namespace"] = ns
			}
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// promtoolFile is the part of promtool's unit test format checked here.
type promtoolFile struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		Name          string `json:"name"`
		AlertRuleTest []struct {
			EvalTime  string `json:"eval_time"`
			Alertname string `json:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `json:"exp_labels"`
				ExpAnnotations map[string]string `json:"exp_annotations"`
			} `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// Every alert has a unit test where it fires and one where it stays
// silent, and the tests read the rules of the PrometheusRule (never a
// copy).
func TestAlertRulesAreAllUnitTested(t *testing.T) {
	t.Parallel()
	fires, silent := map[string]bool{}, map[string]bool{}
	for name, b := range promtoolTests(t) {
		var f promtoolFile
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(f.RuleFiles, []string{"rules.yaml"}) {
			t.Errorf("%s reads %v: want rules.yaml, which TestAlertRules writes from the PrometheusRule", name, f.RuleFiles)
		}
		for _, tg := range f.Tests {
			for _, c := range tg.AlertRuleTest {
				if len(c.ExpAlerts) > 0 {
					fires[c.Alertname] = true
				} else {
					silent[c.Alertname] = true
				}
			}
		}
	}
	names := alertNames(defaultRules(t).Spec)
	for _, a := range names {
		if !fires[a] || !silent[a] {
			t.Errorf("alert %s: a unit test where it fires %v, one where it stays silent %v; want both", a, fires[a], silent[a])
		}
	}
	for a := range fires {
		if !slices.Contains(names, a) {
			t.Errorf("the unit tests expect alert %s, which the rules do not have", a)
		}
	}
}

func alertNames(spec monitoringv1.PrometheusRuleSpec) []string {
	var names []string
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				names = append(names, r.Alert)
			}
		}
	}
	return names
}

// metricLabels are quaymirror's metrics, by name, and the labels each may
// carry in Prometheus: its own (described by a real metrics.Recorder),
// the Pushgateway's grouping key (organization, command) and the
// namespace every scrape adds. job, instance and exported_job are left
// out on purpose: they depend on whether honorLabels is honoured.
func metricLabels(t *testing.T) map[string]map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 32)
	go func() {
		metrics.NewRecorder().Describe(ch)
		close(ch)
	}()
	desc := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	out := map[string]map[string]bool{}
	for d := range ch {
		m := desc.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read %s", d)
		}
		l := map[string]bool{"organization": true, "command": true, "namespace": true}
		for _, name := range strings.Split(m[2], ",") {
			if name != "" {
				l[strings.TrimSuffix(strings.TrimPrefix(name, "c("), ")")] = true
			}
		}
		out[m[1]] = l
	}
	// The reading above must see what the package documents.
	if !out[metrics.LastRun]["command"] || !out[metrics.Repositories]["outcome"] || !out[metrics.Mirrors]["status"] || out[metrics.RecoveryPoint] == nil {
		t.Fatalf("the Recorder's metrics were not read right: %v", out)
	}
	return out
}

// labelValues are the values a selector may ask of the labels whose
// values quaymirror enumerates.
func labelValues() map[string][]string {
	var problems, statuses, outcomes []string
	for _, p := range []quaymirror.Problem{quaymirror.ProblemFailing, quaymirror.ProblemStuck, quaymirror.ProblemNeverRun,
		quaymirror.ProblemDisabled, quaymirror.ProblemUnreadable, quaymirror.ProblemMissing, quaymirror.ProblemNotMirrored} {
		problems = append(problems, string(p))
	}
	for _, s := range []quaymirror.SyncStatus{quaymirror.SyncNeverRun, quaymirror.SyncNow, quaymirror.SyncSyncing,
		quaymirror.SyncSuccess, quaymirror.SyncFail, quaymirror.SyncCancel} {
		statuses = append(statuses, string(s))
	}
	for _, o := range []quaymirror.Outcome{quaymirror.OutcomeCreated, quaymirror.OutcomeConfigured, quaymirror.OutcomeUpdated,
		quaymirror.OutcomeUnchanged, quaymirror.OutcomeSkipped, quaymirror.OutcomeOrphaned, quaymirror.OutcomeFailed,
		quaymirror.OutcomeNotStarted} {
		outcomes = append(outcomes, string(o))
	}
	var commands []string
	for _, c := range []runner.Command{runner.CommandSync, runner.CommandPlan, runner.CommandCheck, runner.CommandStatus, runner.CommandVerify} {
		commands = append(commands, string(c))
	}
	return map[string][]string{
		"command": commands, "problem": problems, "status": append(statuses, "UNKNOWN"), "outcome": outcomes,
		"registry": {"source", "destination"},
	}
}

// literalAlternatives matches a regular expression that is only literal
// alternatives: a|b|c.
var literalAlternatives = regexp.MustCompile(`^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$`)

// checkQuery checks that expr names only quaymirror's metrics (or the
// records in records), with the labels they carry and the values those
// labels take, and returns the metric names it reads. The expression is
// read with MetricsQL's parser, a superset of PromQL's small enough for a
// test (Prometheus' own module would bring a gigabyte of dependencies);
// that it is valid PromQL, promtool checks with Prometheus' own parser
// (TestAlertRules, TestDashboardQueriesArePromQL).
func checkQuery(t *testing.T, what, expr string, known map[string]map[string]bool, records map[string]bool) []string {
	t.Helper()
	e, err := metricsql.Parse(expr)
	if err != nil {
		t.Errorf("%s: %q: %v", what, expr, err)
		return nil
	}
	values := labelValues()
	var names []string
	metricsql.VisitAll(e, func(n metricsql.Expr) {
		switch n := n.(type) {
		case *metricsql.MetricExpr:
			if len(n.LabelFilterss) != 1 || len(n.LabelFilterss[0]) == 0 || n.LabelFilterss[0][0].Label != "__name__" || n.LabelFilterss[0][0].IsRegexp {
				t.Errorf("%s: %q: a selector without a metric name, or with MetricsQL's or", what, expr)
				return
			}
			name := n.LabelFilterss[0][0].Value
			allowed := known[name]
			switch {
			case records[name]:
				allowed = map[string]bool{"namespace": true}
			case allowed == nil:
				t.Errorf("%s: %q names %q, not a metric of package metrics", what, expr, name)
				return
			}
			names = append(names, name)
			for _, f := range n.LabelFilterss[0][1:] {
				if !allowed[f.Label] {
					t.Errorf("%s: %q selects %s by %s, a label it does not have", what, expr, name, f.Label)
				}
				enum, ok := values[f.Label]
				if !ok {
					continue
				}
				alternatives := []string{f.Value}
				if f.IsRegexp {
					if !literalAlternatives.MatchString(f.Value) {
						t.Errorf("%s: %q: %s=~%q is more than literal alternatives; this test cannot check it", what, expr, f.Label, f.Value)
						continue
					}
					alternatives = strings.Split(f.Value, "|")
				}
				for _, v := range alternatives {
					if !slices.Contains(enum, v) {
						t.Errorf("%s: %q asks %s for %s=%q, a value it never has (%v)", what, expr, name, f.Label, v, enum)
					}
				}
			}
		case *metricsql.AggrFuncExpr:
			if n.Modifier.Op == "" {
				return
			}
			if strings.ToLower(n.Modifier.Op) != "by" {
				t.Errorf("%s: %q aggregates %s(...): name what is kept with by", what, expr, n.Modifier.Op)
			}
			under := map[string]bool{}
			for _, a := range n.Args {
				metricsql.VisitAll(a, func(m metricsql.Expr) {
					if me, ok := m.(*metricsql.MetricExpr); ok && len(me.LabelFilterss) > 0 && len(me.LabelFilterss[0]) > 0 {
						for l := range known[me.LabelFilterss[0][0].Value] {
							under[l] = true
						}
					}
				})
			}
			for _, l := range n.Modifier.Args {
				if !under[l] {
					t.Errorf("%s: %q groups by %s, which no series under it has", what, expr, l)
				}
			}
		}
	})
	return names
}

// The rules: valid PromQL on quaymirror's own metrics, thresholds from
// their records, and each alert labelled, explained and pointing at its
// runbook entry in docs/operations.md.
func TestAlertRuleExpressions(t *testing.T) {
	t.Parallel()
	known := metricLabels(t)
	spec := defaultRules(t).Spec
	doc, err := os.ReadFile(operationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{2,4} (.+)$`).FindAllSubmatch(doc, -1) {
		anchors[githubAnchor(string(m[1]))] = true
	}
	records := map[string]bool{}
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				if !strings.HasPrefix(r.Record, thresholdPrefix) {
					t.Errorf("record %s: the only records are thresholds, named %s*", r.Record, thresholdPrefix)
				}
				if _, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(r.Expr.String(), "vector("), ")"), 64); err != nil {
					t.Errorf("threshold %s = %q, want vector(<number>)", r.Record, r.Expr.String())
				}
				records[r.Record] = true
			}
		}
	}
	used := map[string]bool{}
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			names := checkQuery(t, "alert "+r.Alert, r.Expr.String(), known, records)
			if !slices.ContainsFunc(names, func(n string) bool { return known[n] != nil }) {
				t.Errorf("alert %s reads none of quaymirror's metrics", r.Alert)
			}
			for _, n := range names {
				used[n] = true
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alert %s severity %q, want warning or critical", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("alert %s has no %s", r.Alert, a)
				}
			}
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbookBase)
			if !ok || anchor != strings.ToLower(r.Alert) || !anchors[anchor] {
				t.Errorf("alert %s runbook_url %q: want %s%s, a heading of docs/operations.md", r.Alert, r.Annotations["runbook_url"], runbookBase, strings.ToLower(r.Alert))
			}
		}
	}
	for rec := range records {
		if !used[rec] {
			t.Errorf("threshold %s is read by no alert", rec)
		}
	}
	// What the issue asks to alert on, each read by some alert.
	for _, m := range []string{metrics.LastRunSuccess, metrics.LastSuccess, metrics.MirrorProblems, metrics.MissingTags, metrics.StaleTags, metrics.RecoveryPoint, metrics.LastRun} {
		if !used[m] {
			t.Errorf("no alert reads %s", m)
		}
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// The example overlay that tunes thresholds changes those records and
// nothing else.
func TestAlertThresholdsExample(t *testing.T) {
	t.Parallel()
	want := defaultRules(t).Spec
	got := kustomize(t, filepath.Join("examples", "alert-thresholds")).rules[ruleName]
	if got == nil {
		t.Fatal("examples/alert-thresholds has no PrometheusRule")
	}
	changed := 0
	for gi, g := range want.Groups {
		for ri, r := range g.Rules {
			o := got.Spec.Groups[gi].Rules[ri]
			if o.Expr.String() == r.Expr.String() {
				continue
			}
			changed++
			if r.Record == "" || !strings.HasPrefix(r.Record, thresholdPrefix) || o.Record != r.Record {
				t.Errorf("the example changes %s%s, not a threshold", r.Alert, r.Record)
			}
		}
	}
	if changed == 0 {
		t.Error("the example changes no threshold")
	}
	if !bytes.Equal(rulesFile(t, withoutExprs(want)), rulesFile(t, withoutExprs(got.Spec))) {
		t.Error("the example changes more than the thresholds' values")
	}
}

func withoutExprs(spec monitoringv1.PrometheusRuleSpec) monitoringv1.PrometheusRuleSpec {
	out := *spec.DeepCopy()
	for gi := range out.Groups {
		for ri := range out.Groups[gi].Rules {
			if out.Groups[gi].Rules[ri].Record != "" {
				out.Groups[gi].Rules[ri].Expr = intstr.FromString("")
			}
		}
	}
	return out
}

// dashboard is the part of Grafana's dashboard model checked here; the
// rest stays raw.
type dashboard struct {
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	Description   string          `json:"description"`
	Tags          []string        `json:"tags"`
	Timezone      string          `json:"timezone"`
	Editable      bool            `json:"editable"`
	GraphTooltip  int             `json:"graphTooltip"`
	SchemaVersion int             `json:"schemaVersion"`
	Version       int             `json:"version"`
	Refresh       string          `json:"refresh"`
	Time          json.RawMessage `json:"time"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Label      string          `json:"label"`
			Type       string          `json:"type"`
			Datasource *datasourceRef  `json:"datasource"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Refresh    int             `json:"refresh"`
			Sort       int             `json:"sort"`
			Multi      bool            `json:"multi"`
			IncludeAll bool            `json:"includeAll"`
			AllValue   string          `json:"allValue"`
			Current    json.RawMessage `json:"current"`
			Hide       int             `json:"hide"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID          int           `json:"id"`
		Type        string        `json:"type"`
		Title       string        `json:"title"`
		Description string        `json:"description"`
		Datasource  datasourceRef `json:"datasource"`
		GridPos     struct {
			X, Y, W, H int
		} `json:"gridPos"`
		Targets []struct {
			Datasource   datasourceRef `json:"datasource"`
			RefID        string        `json:"refId"`
			Expr         string        `json:"expr"`
			LegendFormat string        `json:"legendFormat"`
		} `json:"targets"`
		FieldConfig json.RawMessage `json:"fieldConfig"`
		Options     json.RawMessage `json:"options"`
	} `json:"panels"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// The dashboard is a valid Grafana dashboard whose every query is PromQL
// over quaymirror's metrics, with the labels they have, and which shows
// over time, per organisation, the recovery point, the missing tags and
// the mirror states.
func TestDashboard(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
		t.Fatalf("%s: uid %q, title %q, schemaVersion %d, %d panels", dashboardFile, d.UID, d.Title, d.SchemaVersion, len(d.Panels))
	}
	known := metricLabels(t)

	// The variables: the data source, then queries of it; each query's
	// label_values names a metric and one of its labels.
	vars := map[string]string{} // name → what it stands for in a test query
	labelValuesQuery := regexp.MustCompile(`^label_values\((.+), *([a-z_]+)\)$`)
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			var q string
			if json.Unmarshal(v.Query, &q) != nil || q != "prometheus" {
				t.Errorf("variable %s: a data source of type %s, want prometheus", v.Name, v.Query)
			}
			vars[v.Name] = "prometheus"
		case "query":
			if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
				t.Errorf("variable %s does not query ${datasource}", v.Name)
			}
			m := labelValuesQuery.FindStringSubmatch(v.Definition)
			if m == nil {
				t.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, v.Definition)
				continue
			}
			sel := substitute(m[1], vars)
			for _, n := range checkQuery(t, "variable "+v.Name, sel, known, nil) {
				if !known[n][m[2]] {
					t.Errorf("variable %s lists label %s of %s, which it does not have", v.Name, m[2], n)
				}
			}
			vars[v.Name] = "acic-quay-org-mirror"
			if v.Multi || v.IncludeAll {
				vars[v.Name] = "internal-docker-io|internal-acic-images"
			}
		default:
			t.Errorf("variable %s of type %s", v.Name, v.Type)
		}
	}

	ids := map[int]bool{}
	overTime := map[string]bool{} // metric → shown by a time series panel
	for _, p := range d.Panels {
		what := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if ids[p.ID] {
			t.Errorf("%s: id used twice", what)
		}
		ids[p.ID] = true
		if p.Type != "timeseries" && p.Type != "stat" {
			t.Errorf("%s: type %s", what, p.Type)
		}
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%s: gridPos %+v outside Grafana's 24 columns", what, p.GridPos)
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("%s: data source %q, %d queries", what, p.Datasource.UID, len(p.Targets))
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			if q.RefID == "" || refs[q.RefID] || q.Datasource.UID != "${datasource}" {
				t.Errorf("%s: query refId %q (each once) on %q", what, q.RefID, q.Datasource.UID)
			}
			refs[q.RefID] = true
			if !strings.Contains(q.Expr, "organization") || !strings.Contains(q.LegendFormat, "{{organization}}") {
				t.Errorf("%s: %q is not per organisation", what, q.Expr)
			}
			for _, n := range checkQuery(t, what, substitute(q.Expr, vars), known, nil) {
				if p.Type == "timeseries" {
					overTime[n] = true
				}
			}
		}
	}
	for _, m := range []string{metrics.RecoveryPoint, metrics.MissingTags, metrics.Mirrors} {
		if !overTime[m] {
			t.Errorf("no time series panel shows %s", m)
		}
	}
}

// The dashboard's queries are PromQL to Prometheus' own parser: promtool
// checks them, each the expression of a recording rule.
func TestDashboardQueriesArePromQL(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"datasource": "prometheus", "namespace": namespace, "organization": "internal-docker-io|internal-acic-images"}
	var queries []string
	for _, v := range d.Templating.List {
		if m := regexp.MustCompile(`^label_values\((.+), *[a-z_]+\)$`).FindStringSubmatch(v.Definition); m != nil {
			queries = append(queries, m[1])
		}
	}
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			queries = append(queries, q.Expr)
		}
	}
	var group monitoringv1.RuleGroup
	group.Name = "dashboard"
	for i, q := range queries {
		group.Rules = append(group.Rules, monitoringv1.Rule{Record: fmt.Sprintf("dashboard_query_%d", i), Expr: intstr.FromString(substitute(q, vars))})
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.yaml"), rulesFile(t, monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{group}}), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "check", "rules", "dashboard.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check rules of the dashboard's %d queries: %v\n%s", len(queries), err, out)
	}
}

// substitute replaces the Grafana variables ($name, ${name}) of q with
// values, failing on one not defined.
func substitute(q string, vars map[string]string) string {
	return regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`).ReplaceAllStringFunc(q, func(v string) string {
		name := strings.Trim(v, "${}")
		if val, ok := vars[name]; ok {
			return val
		}
		return v // left as is: the query does not parse, and says so
	})
}

// metav1Selector turns a Service's selector into a label selector.
func metav1Selector(m map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: m}
}
