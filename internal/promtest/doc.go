// Package promtest holds test helpers around Prometheus' own parts: the
// text exposition parsed with Prometheus' parser (expfmt), and a real
// Pushgateway (Debian's prometheus-pushgateway) started on loopback.
package promtest
