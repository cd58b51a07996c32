package promtest

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are the samples of an exposition.
type Samples model.Vector

// Parse reads the Prometheus text exposition format with Prometheus'
// own parser.
func Parse(r io.Reader) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	var mfs = make([]*dto.MetricFamily, 0, len(families))
	for _, f := range families {
		mfs = append(mfs, f)
	}
	v, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: model.Now()}, mfs...)
	return Samples(v), err
}

// Scrape GETs url and parses the answer, which must be 200 in the text
// format.
func Scrape(t testing.TB, url string) Samples {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("scrape %s: content type %q", url, ct)
	}
	s, err := Parse(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return s
}

// Find returns the samples of the metric name whose labels include the
// label pairs kv (name, value, name, value, ...).
func (s Samples) Find(name string, kv ...string) []*model.Sample {
	var out []*model.Sample
	for _, smp := range s {
		if string(smp.Metric[model.MetricNameLabel]) != name {
			continue
		}
		match := true
		for i := 0; i+1 < len(kv); i += 2 {
			match = match && string(smp.Metric[model.LabelName(kv[i])]) == kv[i+1]
		}
		if match {
			out = append(out, smp)
		}
	}
	return out
}

// Value returns the value of the one sample Find returns; the test fails
// when there is not exactly one.
func (s Samples) Value(t testing.TB, name string, kv ...string) float64 {
	t.Helper()
	found := s.Find(name, kv...)
	if len(found) != 1 {
		t.Errorf("%s%v: %d samples, want 1", name, kv, len(found))
		return -1
	}
	return float64(found[0].Value)
}

// Sum returns the sum of the values Find returns.
func (s Samples) Sum(name string, kv ...string) float64 {
	total := 0.0
	for _, smp := range s.Find(name, kv...) {
		total += float64(smp.Value)
	}
	return total
}

// Pushgateway is a real Pushgateway serving on loopback for a test.
type Pushgateway struct {
	// URL is its base URL, http://127.0.0.1:port.
	URL string
}

// PushgatewayBinary is where Debian's prometheus-pushgateway installs it.
const PushgatewayBinary = "/usr/bin/prometheus-pushgateway"

// RequireToolsEnv, set to 1, turns a missing tool from a skip into a
// failure (CI sets it: .ci/run installs the tools).
const RequireToolsEnv = "QUAYMIRROR_REQUIRE_TOOLS"

var listening = regexp.MustCompile(`msg="Listening on" address=(127\.0\.0\.1:[0-9]+)`)

// StartPushgateway starts a Pushgateway on a free loopback port, without
// persistence, stopped when the test ends. Without the binary the test
// is skipped, or fails when QUAYMIRROR_REQUIRE_TOOLS=1.
func StartPushgateway(t testing.TB) *Pushgateway {
	t.Helper()
	bin := PushgatewayBinary
	if _, err := os.Stat(bin); err != nil {
		found, lerr := exec.LookPath("prometheus-pushgateway")
		if lerr != nil {
			msg := "no Pushgateway: install Debian's prometheus-pushgateway (apt-get install -y prometheus-pushgateway), as .ci/run does"
			if os.Getenv(RequireToolsEnv) == "1" {
				t.Fatal(msg + " (" + RequireToolsEnv + "=1)")
			}
			t.Skip(msg)
		}
		bin = found
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--web.listen-address=127.0.0.1:0", "--persistence.file=", "--log.level=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent {
				log.WriteString(line + "\n")
				if m := listening.FindStringSubmatch(line); m != nil {
					addr <- m[1]
					sent = true
				}
			}
		}
		if !sent {
			close(addr)
		}
	}()
	// A guard against a hung start only; it starts in milliseconds.
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("the Pushgateway stopped before listening:\n%s", log.String())
		}
		return &Pushgateway{URL: "http://" + a}
	case <-time.After(time.Minute):
		t.Fatal("the Pushgateway did not listen within a minute")
	}
	return nil
}

// Scrape returns the Pushgateway's /metrics: what Prometheus would read
// from it, pushed series included.
func (p *Pushgateway) Scrape(t testing.TB) Samples {
	t.Helper()
	return Scrape(t, p.URL+"/metrics")
}
