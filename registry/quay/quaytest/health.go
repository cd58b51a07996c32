package quaytest

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// GET /api/v1/repository/mirror/health (3.18+). Counts the enabled mirrors
// of MIRROR repositories; unhealthy (503) when more than 20% of those that
// have run are failing. The emulator has no worker metrics: last_sync is
// null and one worker is reported active.
func (c *call) getMirrorHealth() {
	q := c.r.URL.Query()
	ns := q.Get("namespace")
	switch {
	case c.who.Anonymous():
		c.unauthorized()
		return
	case ns == "" && !(c.who.Superuser() && c.who.HasScope(ScopeSuperUser)):
		c.unauthorized()
		return
	case ns != "" && c.e.reg.OrgRole(c.who.Name(), ns) == "" && !c.who.FullAccess():
		c.unauthorized()
		return
	}
	detailed := truthy(q, "detailed", false)
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil {
		limit = 100
	}
	limit = max(1, min(limit, 1000))
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(0, offset)

	orgs := []string{ns}
	if ns == "" {
		orgs = c.e.reg.Organizations()
	}
	var total, syncing, completed, failed, neverRun int
	var details []any
	var issues []any
	now := isoformatZ(c.e.now())
	for _, org := range orgs {
		for _, r := range c.e.reg.Repositories(org) {
			if r.State != quaymirror.StateMirror {
				continue
			}
			m, ok := c.e.reg.Mirror(org, r.Name)
			if !ok || !m.Config.Enabled {
				continue
			}
			total++
			switch m.Status.SyncStatus {
			case quaymirror.SyncSyncing, quaymirror.SyncNow:
				syncing++
			case quaymirror.SyncSuccess:
				completed++
			case quaymirror.SyncFail:
				failed++
				if m.Status.RetriesRemaining == 0 && len(issues) < 5 {
					issues = append(issues, obj{{"severity", "error"}, {"message", fmt.Sprintf("Repository %s/%s has exhausted all retry attempts", org, r.Name)}, {"timestamp", now}})
				}
			case quaymirror.SyncNeverRun:
				neverRun++
			}
			if detailed && total > offset && len(details) <= limit {
				details = append(details, obj{{"namespace", org}, {"repository", r.Name}, {"sync_status", m.Status.SyncStatus},
					{"is_enabled", m.Config.Enabled}, {"last_sync", nil}, {"retries_remaining", m.Status.RetriesRemaining}})
			}
		}
	}
	healthy := true
	if ran := total - neverRun; ran > 0 && float64(failed)/float64(ran) > 0.2 {
		healthy = false
		issues = append([]any{obj{{"severity", "critical"}, {"message", fmt.Sprintf("%.1f%% of repositories are failing (threshold: 20.0%%)", 100*float64(failed)/float64(ran))}, {"timestamp", now}}}, issues...)
	}
	status := "healthy"
	if !healthy {
		status = "degraded"
	}
	repos := obj{{"total", total}, {"syncing", syncing}, {"completed", completed}, {"failed", failed}, {"never_run", neverRun}}
	if detailed {
		hasMore := len(details) > limit
		if hasMore {
			details = details[:limit]
		}
		if details == nil {
			details = []any{}
		}
		repos = append(repos, kv{"details", details}, kv{"pagination", obj{{"limit", limit}, {"offset", offset}, {"has_more", hasMore}}})
	}
	if issues == nil {
		issues = []any{}
	}
	code := http.StatusOK
	if !healthy {
		code = http.StatusServiceUnavailable
	}
	c.json(code, obj{
		{"healthy", healthy}, {"workers", obj{{"active", 1}, {"configured", 1}, {"status", status}}},
		{"repositories", repos}, {"tags_pending", 0}, {"last_check", now}, {"issues", issues},
	})
}
