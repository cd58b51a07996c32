package ocitest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DistributionBinary is the CNCF distribution registry as Debian's
// docker-registry package installs it.
const DistributionBinary = "docker-registry"

// ErrNoDistribution: the distribution registry's binary is not installed.
var ErrNoDistribution = errors.New("ocitest: the CNCF distribution registry (Debian package docker-registry, binary docker-registry) is not installed")

// DistributionOptions configure StartDistribution.
type DistributionOptions struct {
	// Binary is the registry's binary (default: DistributionBinary on
	// PATH).
	Binary string
	// Username and Password are what the token service accepts (default
	// "puller" and a fixed test password).
	Username, Password string
	// Anonymous lets the token service hand out tokens without
	// credentials.
	Anonymous bool
	// RefuseCatalog makes the token service never grant the catalog, as
	// Docker Hub's does not.
	RefuseCatalog bool
	// MaxEntries is the registry's catalog.maxentries (default 1000).
	MaxEntries int
}

// Distribution is the CNCF distribution registry run on loopback with
// token authentication (auth.token in its configuration), and the token
// service it trusts, served in process: tokens are JWTs signed with a key
// whose self-signed certificate is the registry's rootcertbundle.
type Distribution struct {
	// URL and Host are the registry's.
	URL, Host string
	// Username and Password are the credentials the token service
	// accepts.
	Username, Password string

	opts          DistributionOptions
	key           *ecdsa.PrivateKey
	certDER       []byte
	tokenServer   *http.Server
	cmd           *exec.Cmd
	done          chan struct{}
	tokenRequests atomic.Int64
	mu            sync.Mutex
	stderr        strings.Builder
}

const (
	distributionService = "quaymirror-test-registry"
	distributionIssuer  = "quaymirror-test-token-service"
)

var listeningRe = regexp.MustCompile(`listening on (\S+?)"?(\s|$)`)

// StartDistribution starts the registry in dir (its storage and
// configuration) and its token service. It returns ErrNoDistribution when
// the binary is missing. Close stops both.
func StartDistribution(dir string, opts DistributionOptions) (*Distribution, error) {
	if opts.Binary == "" {
		opts.Binary = DistributionBinary
	}
	bin, err := exec.LookPath(opts.Binary)
	if err != nil {
		return nil, ErrNoDistribution
	}
	if opts.Username == "" {
		opts.Username, opts.Password = "puller", "distribution-test-password"
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = 1000
	}
	d := &Distribution{Username: opts.Username, Password: opts.Password, opts: opts, done: make(chan struct{})}
	if err := d.newKey(); err != nil {
		return nil, err
	}
	certPath := filepath.Join(dir, "token-root.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.certDER}), 0o600); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.tokenServer = &http.Server{Handler: http.HandlerFunc(d.issue), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = d.tokenServer.Serve(l) }()
	realm := "http://" + l.Addr().String() + "/token"

	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
catalog:
  maxentries: %d
auth:
  token:
    realm: %s
    service: %s
    issuer: %s
    rootcertbundle: %s
`, filepath.Join(dir, "storage"), opts.MaxEntries, realm, distributionService, distributionIssuer, certPath)
	configPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		d.tokenServer.Close()
		return nil, err
	}
	d.cmd = exec.Command(bin, "serve", configPath)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		d.tokenServer.Close()
		return nil, err
	}
	d.cmd.Stdout = io.Discard
	if err := d.cmd.Start(); err != nil {
		d.tokenServer.Close()
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			d.mu.Lock()
			if d.stderr.Len() < 64<<10 {
				d.stderr.WriteString(line + "\n")
			}
			d.mu.Unlock()
			if m := listeningRe.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	select {
	case a := <-addr:
		d.Host, d.URL = a, "http://"+a
	case <-d.done:
		d.tokenServer.Close()
		return nil, fmt.Errorf("ocitest: %s exited at start: %s", opts.Binary, d.log())
	case <-time.After(30 * time.Second):
		d.Close()
		return nil, fmt.Errorf("ocitest: %s did not say where it listens within 30s: %s", opts.Binary, d.log())
	}
	return d, nil
}

func (d *Distribution) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.TrimSpace(d.stderr.String())
}

// Close stops the registry and its token service.
func (d *Distribution) Close() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	_ = d.tokenServer.Close()
}

// TokenRequests is how many tokens were asked of the token service.
func (d *Distribution) TokenRequests() int64 { return d.tokenRequests.Load() }

// Store returns a store pushing to the registry with tokens it signs
// itself (the token service's key), granting push on each repository.
func (d *Distribution) Store() *Store {
	return NewStore(d.Host, remote.WithTransport(&minting{d: d, next: http.DefaultTransport.(*http.Transport).Clone()}))
}

// newKey makes the token service's signing key and its self-signed
// certificate.
func (d *Distribution) newKey() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: distributionIssuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	d.key, d.certDER = key, der
	return nil
}

// access is one grant of a token, as the distribution registry reads it.
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// issue is the token service: Basic credentials (or none, when
// anonymous access is on) for a token granting the scopes asked for, but
// the catalog when it is refused.
func (d *Distribution) issue(w http.ResponseWriter, r *http.Request) {
	d.tokenRequests.Add(1)
	user, pass, ok := r.BasicAuth()
	if (ok && (user != d.Username || pass != d.Password)) || (!ok && !d.opts.Anonymous) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"details":"incorrect username or password"}`)
		return
	}
	var grants []access
	for _, scope := range r.URL.Query()["scope"] {
		for s := range strings.FieldsSeq(scope) {
			typ, rest, _ := strings.Cut(s, ":")
			i := strings.LastIndexByte(rest, ':')
			if i < 0 || (typ == "registry" && d.opts.RefuseCatalog) {
				continue
			}
			grants = append(grants, access{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")})
		}
	}
	tok, err := d.sign(user, grants)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 300, "issued_at": time.Now().UTC().Format(time.RFC3339)})
}

// sign makes a JWT the registry accepts: ES256, the certificate in x5c.
func (d *Distribution) sign(subject string, grants []access) (string, error) {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(d.certDER)}})
	jti := make([]byte, 8)
	_, _ = rand.Read(jti)
	now := time.Now()
	if grants == nil {
		grants = []access{}
	}
	claims, _ := json.Marshal(map[string]any{
		"iss": distributionIssuer, "sub": subject, "aud": distributionService,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": hex.EncodeToString(jti), "access": grants,
	})
	payload := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(payload))
	r, s, err := ecdsa.Sign(rand.Reader, d.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return payload + "." + enc.EncodeToString(sig), nil
}

// minting adds to each request a token granting what it needs: push and
// pull on the repository of its path, the catalog for the catalog.
type minting struct {
	d    *Distribution
	next http.RoundTripper
}

func (m *minting) RoundTrip(req *http.Request) (*http.Response, error) {
	var grants []access
	p := strings.TrimPrefix(req.URL.Path, "/v2/")
	for _, sep := range []string{"/blobs/", "/manifests/", "/tags/"} {
		if i := strings.Index(p, sep); i > 0 {
			grants = append(grants, access{Type: "repository", Name: p[:i], Actions: []string{"pull", "push", "delete"}})
			break
		}
	}
	if p == "_catalog" {
		grants = append(grants, access{Type: "registry", Name: "catalog", Actions: []string{"*"}})
	}
	tok, err := m.d.sign("seeder", grants)
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return m.next.RoundTrip(r)
}

// Wait until the registry answers, for a caller that wants to be sure.
func (d *Distribution) Wait(ctx context.Context) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
