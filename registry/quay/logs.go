package quay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// maxLogPages bounds the pages of audit log SyncLogs reads. Pulls and
// pushes are logged too, so mirror events may be spread over a few pages.
const maxLogPages = 5

// SyncLogs reads GET /api/v1/repository/{namespace}/{name}/logs (Quay's
// default window: the last day; up to maxLogPages pages) and returns the
// mirror events (kinds repo_mirror_*), newest first. Message is the
// event's metadata.message, followed by metadata.stderr on a new line when
// Quay recorded one.
func (c *Client) SyncLogs(ctx context.Context, namespace, name string) ([]quaymirror.SyncLog, error) {
	p, err := repoPath(namespace, name)
	if err != nil {
		return nil, err
	}
	var out []quaymirror.SyncLog
	token := ""
	for range maxLogPages {
		var q url.Values
		if token != "" {
			q = url.Values{"next_page": {token}}
		}
		resp, err := c.do(ctx, request{method: http.MethodGet, path: "/repository/" + p + "/logs", query: q})
		if err != nil {
			return nil, err
		}
		var page struct {
			Logs *[]struct {
				Kind     string          `json:"kind"`
				Datetime string          `json:"datetime"`
				Metadata json.RawMessage `json:"metadata"`
			} `json:"logs"`
			NextPage string `json:"next_page"`
		}
		if err := resp.Decode(&page); err != nil {
			return nil, err
		}
		if page.Logs == nil {
			return nil, resp.Bad("the log page has no logs key")
		}
		for _, l := range *page.Logs {
			if !strings.HasPrefix(l.Kind, "repo_mirror_") {
				continue
			}
			var md struct {
				Message any `json:"message"`
				Stderr  any `json:"stderr"`
				Tag     any `json:"tag"`
			}
			_ = json.Unmarshal(l.Metadata, &md) // metadata is free-form; keep what reads
			msg := text(md.Message)
			if stderr := strings.TrimSpace(text(md.Stderr)); stderr != "" {
				msg = strings.TrimSpace(msg + "\n" + stderr)
			}
			out = append(out, quaymirror.SyncLog{Kind: l.Kind, Time: parseLogTime(l.Datetime), Message: msg, Tag: text(md.Tag)})
		}
		if page.NextPage == "" || page.NextPage == token {
			break
		}
		token = page.NextPage
	}
	slices.SortStableFunc(out, func(a, b quaymirror.SyncLog) int { return b.Time.Compare(a.Time) })
	return out, nil
}

// text renders a free-form metadata value: a string as itself, null as
// empty, anything else as JSON.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// parseLogTime reads a log date: RFC 2822 as Quay's format_date writes it
// ("Thu, 01 Jan 2026 10:00:00 -0000"), or RFC 3339. An unreadable date is
// the zero time: the log is informational.
func parseLogTime(s string) time.Time {
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, time.RFC3339Nano} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
