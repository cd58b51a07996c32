package quaytest

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// quayDate is what Python's _strptime builds for "%Y-%m-%dT%H:%M:%SZ":
// one- or two-digit fields, case-insensitive literals, nothing else (no
// fraction, no offset).
var quayDate = regexp.MustCompile(`^(?i)(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])T(2[0-3]|[01]\d|\d):([0-5]\d|\d):(6[01]|[0-5]\d|\d)Z$`)

// parseQuayDate parses a sync_start_date as Quay's _string_to_dt does
// (datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")), as UTC. ok is false where
// Python raises ValueError.
func parseQuayDate(s string) (t time.Time, ok bool) {
	m := quayDate.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	var n [6]int
	for i := range n {
		v, err := strconv.Atoi(trimSpace(m[i+1]))
		if err != nil {
			return time.Time{}, false
		}
		n[i] = v
	}
	year, month, day, hour, minute, second := n[0], n[1], n[2], n[3], n[4], n[5]
	// datetime() rejects year 0, impossible days and seconds 60 and 61.
	if year < 1 || second > 59 || day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC), true
}

func trimSpace(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// isoformatZ renders t as Quay's _dt_to_string: datetime.isoformat() + "Z",
// with microseconds only when there are some (as dates the worker writes
// have), so GET can return "2026-01-01T10:00:00.123456Z".
func isoformatZ(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + "Z"
}

// rfc2822 renders t as Quay's format_date (email.utils.formatdate).
func rfc2822(t time.Time) string {
	return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0000")
}

// parseLogDate parses the logs endpoint's MM/DD/YYYY (strptime "%m/%d/%Y").
func parseLogDate(s string) (time.Time, bool) {
	m := logDate.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	month, _ := strconv.Atoi(m[1])
	day, _ := strconv.Atoi(trimSpace(m[2]))
	year, _ := strconv.Atoi(m[3])
	if year < 1 || day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), true
}

var logDate = regexp.MustCompile(`^(1[0-2]|0[1-9]|[1-9])/(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])/(\d{4})$`)
