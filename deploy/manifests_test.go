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

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// What the deployment promises.
const (
	namespace     = "quay-mirror"
	configMapName = "quay-mirror-config"
	// maxRevisionTimeout is Knative's default max-revision-timeout-seconds.
	maxRevisionTimeout = 600
	// timeoutMargin: TIMEOUT leaves this long for the repositories in
	// flight to finish (quaymirror.DefaultRepositoryTimeout, 2 minutes)
	// and the report to be sent.
	timeoutMargin = 150 * time.Second
	// maxServiceName keeps Knative's derived names (<svc>-00001-private)
	// within 63 characters.
	maxServiceName = 63 - len("-00001-private")
)

var defaultOrgs = []string{"internal-registry-redhat-io", "internal-docker-io", "internal-acic-images"}

// secretMounts maps each Secret to the setting naming its mount directory.
var secretMounts = map[string]string{
	"quay-credentials":            "QUAY_CREDENTIALS_DIR",
	"quay-source-api-tokens":      "SOURCE_TOKENS_DIR",
	"quay-destination-api-tokens": "DESTINATION_TOKENS_DIR",
}

// secretSettings hold secret values: they must come from the mounted
// Secrets, never from a manifest.
var secretSettings = []string{"SOURCE_TOKEN", "DESTINATION_TOKEN", "QUAY_PASSWORD"}

// build is one overlay built and decoded.
type build struct {
	dir        string
	namespaces []*corev1.Namespace
	configMaps map[string]*corev1.ConfigMap
	services   map[string]*servingv1.Service
	pings      map[string]*v1.PingSource
	cronJobs   map[string]*batchv1.CronJob
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

// kustomize builds dir offline, from the files on disk.
func kustomize(t *testing.T, dir string) *build {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b := &build{dir: dir, configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*servingv1.Service{},
		pings: map[string]*v1.PingSource{}, cronJobs: map[string]*batchv1.CronJob{}}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%s %s/%s", dir, r.GetKind(), r.GetName())
		switch gvk := r.GetApiVersion() + "/" + r.GetKind(); gvk {
		case "v1/Namespace":
			b.namespaces = append(b.namespaces, decode[corev1.Namespace](t, id, y))
		case "v1/ConfigMap":
			b.configMaps[r.GetName()] = decode[corev1.ConfigMap](t, id, y)
		case "batch/v1/CronJob":
			b.cronJobs[r.GetName()] = decode[batchv1.CronJob](t, id, y)
		case "serving.knative.dev/v1/Service":
			b.services[r.GetName()] = decode[servingv1.Service](t, id, y)
		case "sources.knative.dev/v1/PingSource":
			b.pings[r.GetName()] = decode[v1.PingSource](t, id, y)
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

func TestStrictDecodingIsCaseSensitive(t *testing.T) {
	t.Parallel()
	for _, y := range []string{
		"apiVersion: sources.knative.dev/v1\nkind: PingSource\nspec:\n  contenttype: application/json\n",
		"apiVersion: sources.knative.dev/v1\nkind: PingSource\nspec:\n  scheduel: '* * * * *'\n",
	} {
		if _, err := decodeStrict[v1.PingSource]([]byte(y)); err == nil {
			t.Errorf("accepted %q", y)
		}
	}
}

// expectedOrgs says which organisations an overlay deploys.
func expectedOrgs(t *testing.T, overlay string) []string {
	t.Helper()
	switch overlay {
	case "default", "cronjob":
		return defaultOrgs
	}
	if _, err := os.Stat(filepath.Join("orgs", overlay)); err != nil {
		t.Fatalf("overlay %s is neither default, cronjob nor an organisation of orgs/: teach this test what it deploys", overlay)
	}
	return []string{overlay}
}

func TestOverlays(t *testing.T) {
	t.Parallel()
	settings := documentedSettings(t)
	for _, overlay := range overlayDirs(t) {
		t.Run(overlay, func(t *testing.T) {
			t.Parallel()
			b := kustomize(t, filepath.Join("overlays", overlay))
			want := expectedOrgs(t, overlay)
			b.checkCommon(t, settings)
			if overlay == "cronjob" {
				if len(b.services)+len(b.pings) != 0 || len(b.cronJobs) != 1 {
					t.Fatalf("want one CronJob and no function, got %d services, %d PingSources, %d CronJobs",
						len(b.services), len(b.pings), len(b.cronJobs))
				}
				for _, cj := range b.cronJobs {
					b.checkCronJob(t, cj, want)
				}
				return
			}
			if len(b.cronJobs) != 0 {
				t.Errorf("a function overlay holds a CronJob")
			}
			b.checkFunction(t, want)
		})
	}
}

func TestDefaultLeavesSandpitOut(t *testing.T) {
	t.Parallel()
	if slices.Contains(defaultOrgs, "internal-developer-sandpit") {
		t.Fatal("the sandpit is in the default set")
	}
	b := kustomize(t, "overlays/default")
	for name := range b.services {
		if strings.Contains(name, "sandpit") {
			t.Errorf("the default overlay deploys %s", name)
		}
	}
}

// checkCommon: namespace, ConfigMap, the settings used.
func (b *build) checkCommon(t *testing.T, settings map[string]bool) {
	if len(b.namespaces) != 1 || b.namespaces[0].Name != namespace {
		t.Fatalf("want the one namespace %s", namespace)
	}
	ns := b.namespaces[0]
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s does not enforce the restricted pod security standard", ns.Name)
	}
	cm := b.configMaps[configMapName]
	if cm == nil || len(b.configMaps) != 1 {
		t.Fatalf("want exactly the ConfigMap %s, got %d", configMapName, len(b.configMaps))
	}
	for _, key := range []string{"SOURCE_REGISTRY", "DESTINATION_REGISTRY", "TAG_GLOB", "SYNC_INTERVAL", "DRY_RUN", "DEBUG", "RECREATE_MIRROR_CONFIG"} {
		if _, ok := cm.Data[key]; !ok {
			t.Errorf("ConfigMap lacks %s, a key of the per-organisation CronJobs", key)
		}
	}
	for key := range cm.Data {
		if !settings[key] {
			t.Errorf("ConfigMap key %s is not a setting of docs/configuration.md", key)
		}
	}
	for _, s := range secretSettings {
		if _, ok := cm.Data[s]; ok {
			t.Errorf("ConfigMap holds the secret setting %s", s)
		}
	}
	if len(cm.BinaryData) > 0 {
		t.Error("ConfigMap has binaryData")
	}
	check := func(kind, name, ns string) {
		if ns != namespace {
			t.Errorf("%s %s is in namespace %q, want %s", kind, name, ns, namespace)
		}
	}
	check("ConfigMap", cm.Name, cm.Namespace)
	for n, s := range b.services {
		check("Service", n, s.Namespace)
	}
	for n, p := range b.pings {
		check("PingSource", n, p.Namespace)
	}
	for n, c := range b.cronJobs {
		check("CronJob", n, c.Namespace)
	}
}

func (b *build) checkFunction(t *testing.T, orgs []string) {
	if len(b.services) != len(orgs) || len(b.pings) != len(orgs) {
		t.Fatalf("want %d Services and PingSources (one per organisation), got %d and %d", len(orgs), len(b.services), len(b.pings))
	}
	served := map[string]string{} // organisation → Service
	for name, svc := range b.services {
		org := b.checkService(t, name, svc)
		if prev, dup := served[org]; dup {
			t.Errorf("%s and %s both sync %s", prev, name, org)
		}
		served[org] = name
	}
	var schedules []string
	for name, ps := range b.pings {
		org := b.checkPingSource(t, name, ps)
		if !slices.Contains(orgs, org) {
			t.Errorf("PingSource %s names %s, want one of %v", name, org, orgs)
		}
		schedules = append(schedules, ps.Spec.Schedule)
	}
	for _, org := range orgs {
		if _, ok := served[org]; !ok {
			t.Errorf("no Service syncs %s", org)
		}
	}
	// Staggered: no two ticks at the same minute.
	next := map[time.Time]bool{}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range schedules {
		sched, err := cron.ParseStandard(s)
		if err != nil {
			continue // reported by checkPingSource
		}
		n := sched.Next(from)
		if next[n] {
			t.Errorf("two PingSources tick at %s: stagger their schedules", n.Format("15:04"))
		}
		next[n] = true
	}
}

// checkService checks a Knative Service and returns the organisation it
// syncs.
func (b *build) checkService(t *testing.T, name string, svc *servingv1.Service) string {
	if len(name) > maxServiceName {
		t.Errorf("Service name %s is longer than %d characters", name, maxServiceName)
	}
	if svc.Labels["networking.knative.dev/visibility"] != "cluster-local" {
		t.Errorf("Service %s is not cluster-local", name)
	}
	tmpl := svc.Spec.Template
	if got := tmpl.Annotations["autoscaling.knative.dev/max-scale"]; got != "1" {
		t.Errorf("Service %s max-scale = %q, want 1", name, got)
	}
	spec := tmpl.Spec
	if spec.ContainerConcurrency == nil || *spec.ContainerConcurrency != 1 {
		t.Errorf("Service %s containerConcurrency is not 1", name)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("Service %s has %d containers, want 1 (did a strategic-merge patch replace the list?)", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	env := b.checkContainer(t, "Service "+name, c, spec.Volumes)
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
	orgs := strings.Split(env["ORGANIZATIONS"], ",")
	if len(orgs) != 1 || orgs[0] == "" {
		t.Fatalf("Service %s ORGANIZATIONS = %q, want one organisation", name, env["ORGANIZATIONS"])
	}
	org := orgs[0]
	if robot := env["ROBOT_NAME"]; robot == "" || (strings.Contains(robot, "+") && !strings.HasPrefix(robot, org+"+")) {
		t.Errorf("Service %s ROBOT_NAME = %q, want a robot of %s", name, robot, org)
	}

	// Knative's own defaulting and validation, as its webhook would.
	ctx := apis.WithinCreate(context.Background())
	svc = svc.DeepCopy()
	svc.SetDefaults(ctx)
	if err := svc.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
		t.Errorf("Service %s is invalid: %v", name, err)
	}
	return org
}

// checkPingSource checks a PingSource and returns the organisation its
// data names.
func (b *build) checkPingSource(t *testing.T, name string, ps *v1.PingSource) string {
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
	var data struct {
		Organization string `json:"organization"`
	}
	if strict, err := kjson.UnmarshalStrict([]byte(ps.Spec.Data), &data); err != nil || len(strict) > 0 || data.Organization == "" {
		t.Errorf("PingSource %s data %q is not {\"organization\": name}: %v %v", name, ps.Spec.Data, err, strict)
	}
	env := envOf(svc.Spec.Template.Spec.Containers[0])
	if env["ORGANIZATIONS"] != data.Organization {
		t.Errorf("PingSource %s asks for %q but its Service %s syncs %q", name, data.Organization, svc.Name, env["ORGANIZATIONS"])
	}
	ctx := apis.WithinCreate(context.Background())
	ps = ps.DeepCopy()
	ps.SetDefaults(ctx)
	if err := ps.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
		t.Errorf("PingSource %s is invalid: %v", name, err)
	}
	return data.Organization
}

func (b *build) checkCronJob(t *testing.T, cj *batchv1.CronJob, orgs []string) {
	name := "CronJob " + cj.Name
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("%s concurrencyPolicy = %q, want Forbid", name, cj.Spec.ConcurrencyPolicy)
	}
	if _, err := cron.ParseStandard(cj.Spec.Schedule); err != nil {
		t.Errorf("%s schedule %q: %v", name, cj.Spec.Schedule, err)
	}
	job := cj.Spec.JobTemplate.Spec
	pod := job.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s restartPolicy = %q, want Never (the next schedule retries)", name, pod.RestartPolicy)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("%s pod does not require a non-root user", name)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s has %d containers", name, len(pod.Containers))
	}
	c := pod.Containers[0]
	env := b.checkContainer(t, name, c, pod.Volumes)
	if !slices.Equal(c.Args, []string{"sync"}) {
		t.Errorf("%s args = %v, want [sync]", name, c.Args)
	}
	if got := strings.Split(env["ORGANIZATIONS"], ","); !slices.Equal(got, orgs) {
		t.Errorf("%s ORGANIZATIONS = %v, want %v", name, got, orgs)
	}
	if robot := env["ROBOT_NAME"]; robot == "" || strings.Contains(robot, "+") {
		t.Errorf("%s ROBOT_NAME = %q, want a short name (it serves several organisations)", name, robot)
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

// checkContainer checks what the function and the CronJob share and
// returns the container's effective environment (ConfigMap overlaid with
// env).
func (b *build) checkContainer(t *testing.T, what string, c corev1.Container, volumes []corev1.Volume) map[string]string {
	if !regexp.MustCompile(`^[^:@]+(/[^:@]+)*(:[\w][\w.-]*)?(@sha256:[0-9a-f]{64})?$`).MatchString(c.Image) ||
		!strings.ContainsAny(c.Image, ":@") {
		t.Errorf("%s image %q has no tag or digest", what, c.Image)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s has no securityContext", what)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot,
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation,
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0,
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault,
		sc.Privileged != nil && *sc.Privileged:
		t.Errorf("%s securityContext is not restricted: %+v", what, sc)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s has no memory limit", what)
	}

	cm := b.configMaps[configMapName]
	env := map[string]string{}
	fromConfigMap := false
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil || ef.ConfigMapRef.Name != configMapName || ef.Prefix != "" {
			t.Errorf("%s envFrom %+v: want only the ConfigMap %s", what, ef, configMapName)
			continue
		}
		fromConfigMap = true
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	if !fromConfigMap {
		t.Errorf("%s does not read the ConfigMap %s", what, configMapName)
	}
	settings := documentedSettings(t)
	for _, e := range c.Env {
		if e.Name != "LISTEN_ADDRESS" && !settings[e.Name] {
			t.Errorf("%s env %s is not a setting of docs/configuration.md", what, e.Name)
		}
		if slices.Contains(secretSettings, e.Name) {
			t.Errorf("%s sets the secret %s in its manifest: mount it from a Secret", what, e.Name)
		}
		if e.ValueFrom != nil {
			t.Errorf("%s env %s comes from valueFrom; this deployment mounts files", what, e.Name)
		}
		env[e.Name] = e.Value
	}

	// The three Secrets, mounted read-only where the settings point.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	seen := map[string]bool{}
	for _, v := range volumes {
		if v.Secret == nil {
			continue
		}
		setting, ok := secretMounts[v.Secret.SecretName]
		if !ok {
			t.Errorf("%s mounts the unexpected Secret %s", what, v.Secret.SecretName)
			continue
		}
		seen[v.Secret.SecretName] = true
		m, ok := mounts[v.Name]
		switch {
		case !ok:
			t.Errorf("%s does not mount the volume of Secret %s", what, v.Secret.SecretName)
		case !m.ReadOnly:
			t.Errorf("%s mounts Secret %s read-write", what, v.Secret.SecretName)
		case m.SubPath != "":
			t.Errorf("%s mounts Secret %s with subPath (never refreshed)", what, v.Secret.SecretName)
		case env[setting] != m.MountPath:
			t.Errorf("%s mounts Secret %s at %s but %s = %q", what, v.Secret.SecretName, m.MountPath, setting, env[setting])
		}
		if v.Secret.Optional != nil && *v.Secret.Optional {
			t.Errorf("%s: Secret %s is optional; a missing one should stop the pod", what, v.Secret.SecretName)
		}
	}
	for secret := range secretMounts {
		if !seen[secret] {
			t.Errorf("%s does not mount Secret %s", what, secret)
		}
	}
	return env
}

func envOf(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
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
	for _, s := range append(slices.Clone(secretSettings), "TIMEOUT", "ORGANIZATIONS", "ROBOT_NAME") {
		if !out[s] {
			t.Fatalf("docs/configuration.md does not document %s: update this test", s)
		}
	}
	return out
}

// TestNoSecretInAnyFile scans every file of the deployment for secret
// material: Secret objects, secret settings given a value, private keys.
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
		ps = ps.DeepCopy()
		ps.Spec.Data = "organization=acme"
		ps.SetDefaults(ctx)
		if err := ps.Validate(ctx).Filter(apis.ErrorLevel); err == nil {
			t.Error("non-JSON data with contentType application/json passed validation")
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
		SyncPolicy struct {
			Automated struct {
				Prune    bool `json:"prune"`
				SelfHeal bool `json:"selfHeal"`
			} `json:"automated"`
			SyncOptions              []string `json:"syncOptions"`
			ManagedNamespaceMetadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"managedNamespaceMetadata"`
			Retry struct {
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
	y, err := os.ReadFile("argocd/application.yaml")
	if err != nil {
		t.Fatal(err)
	}
	app, err := decodeStrict[application](y)
	if err != nil {
		t.Fatalf("argocd/application.yaml: %v", err)
	}
	if app.APIVersion != "argoproj.io/v1alpha1" || app.Kind != "Application" {
		t.Errorf("kind = %s %s", app.APIVersion, app.Kind)
	}
	path, ok := strings.CutPrefix(app.Spec.Source.Path, "deploy/")
	if !ok {
		t.Fatalf("source.path %q is not under deploy/", app.Spec.Source.Path)
	}
	b := kustomize(t, path)
	if len(b.namespaces) != 1 || app.Spec.Destination.Namespace != b.namespaces[0].Name {
		t.Errorf("destination namespace %q is not the overlay's", app.Spec.Destination.Namespace)
	}
	for _, d := range []string{app.Spec.SyncPolicy.Retry.Backoff.Duration, app.Spec.SyncPolicy.Retry.Backoff.MaxDuration} {
		if _, err := time.ParseDuration(d); err != nil {
			t.Errorf("retry backoff %q: %v", d, err)
		}
	}
}
