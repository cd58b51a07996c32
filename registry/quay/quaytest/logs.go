package quaytest

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// LogsPerPage is Quay's LOGS_PER_PAGE.
const LogsPerPage = 20

// maxEvents bounds the configuration-change events kept per repository.
const maxEvents = 200

// event is an audit log entry the emulator writes itself
// (repo_mirror_config_changed); mirror worker events live in the registry
// (fake.Registry.AddSyncLog, SyncMirrors).
type event struct {
	at        time.Time
	changed   string
	to        any
	performer string
}

func (e *Emulator) logChange(who fake.Caller, ns, name, changed string, to any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.events == nil {
		e.events = make(map[string][]event)
	}
	k := repoKey(ns, name)
	evs := append(e.events[k], event{at: e.now().UTC(), changed: changed, to: to, performer: who.Name()})
	if len(evs) > maxEvents {
		evs = evs[len(evs)-maxEvents:]
	}
	e.events[k] = evs
}

// logEntry is one entry of GET .../logs before rendering.
type logEntry struct {
	at   time.Time
	view obj
}

// GET /api/v1/repository/{repo}/logs
func (c *call) getLogs() {
	if _, _, ok := c.requireRepo(quaymirror.RoleAdmin); !ok {
		return
	}
	logs, err := c.e.reg.SyncLogs(c.ctx(), c.ns, c.name)
	if err != nil {
		c.fail(err)
		return
	}
	q := c.r.URL.Query()
	now := c.e.now().UTC()
	start, ok := parseLogDate(q.Get("starttime"))
	if !ok {
		start = now.Add(-24 * time.Hour)
	}
	end, ok := parseLogDate(q.Get("endtime"))
	if !ok {
		end = now
	}
	end = end.Add(24 * time.Hour)
	if end.Before(start) {
		c.message(http.StatusBadRequest, "The browser (or proxy) sent a request that this server could not understand.")
		return
	}

	var entries []logEntry
	for _, l := range logs {
		md := obj{{"namespace", c.ns}, {"repo", c.name}}
		if l.Message != "" {
			md = append(md, kv{"message", l.Message})
		}
		if l.Tag != "" {
			md = append(md, kv{"tag", l.Tag})
		}
		entries = append(entries, logEntry{l.Time, obj{{"kind", l.Kind}, {"metadata", md}, {"ip", nil}, {"datetime", rfc2822(l.Time)}}})
	}
	c.e.mu.Lock()
	evs := slices.Clone(c.e.events[repoKey(c.ns, c.name)])
	c.e.mu.Unlock()
	for _, ev := range evs {
		md := obj{{"changed", ev.changed}, {"to", ev.to}, {"namespace", c.ns}, {"repo", c.name}}
		v := obj{{"kind", quaymirror.LogConfigChanged}, {"metadata", md}, {"ip", "127.0.0.1"}, {"datetime", rfc2822(ev.at)}}
		if ev.performer != "" {
			v = append(v, kv{"performer", obj{{"kind", "user"}, {"name", ev.performer}, {"is_robot", false}, {"avatar", avatar(ev.performer, "user")}}})
		}
		entries = append(entries, logEntry{ev.at, v})
	}
	entries = slices.DeleteFunc(entries, func(l logEntry) bool { return l.at.Before(start) || !l.at.Before(end) })
	slices.SortStableFunc(entries, func(a, b logEntry) int { return b.at.Compare(a.at) })

	scope := repoKey(c.ns, c.name) + "|" + start.Format(time.RFC3339) + "|" + end.Format(time.RFC3339)
	offset, _ := strconv.Atoi(c.e.decodePageToken(q.Get("next_page"), "logs", scope))
	offset = min(max(offset, 0), len(entries))
	page := entries[offset:min(offset+LogsPerPage, len(entries))]
	views := make([]any, len(page))
	for i, l := range page {
		views[i] = l.view
	}
	body := obj{{"start_time", rfc2822(start)}, {"end_time", rfc2822(end)}, {"logs", views}}
	if offset+LogsPerPage < len(entries) {
		body = append(body, kv{"next_page", c.e.encodePageToken("logs", scope, strconv.Itoa(offset+LogsPerPage))})
	}
	c.json(http.StatusOK, body)
}
