package deploy

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// What the monitoring (deploy/monitoring) promises.
const (
	// pushgateway names the Pushgateway's Deployment and Service.
	pushgateway = "quaymirror-pushgateway"
	// pushgatewayURL is METRICS_PUSHGATEWAY of every workload that pushes.
	pushgatewayURL = "http://quaymirror-pushgateway:9091"
	// dashboardConfigMap holds the Grafana dashboard.
	dashboardConfigMap = "quaymirror-dashboard"
)

// checkMonitoring checks what an overlay with deploy/monitoring holds: a
// Pushgateway the runs can reach at pushgatewayURL, scraped through a
// ServiceMonitor.
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

// metav1Selector turns a Service's selector into a label selector.
func metav1Selector(m map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: m}
}
