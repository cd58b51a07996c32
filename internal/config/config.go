package config

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Config is quaymirror's configuration. Every field is read from the
// environment variable of its env tag (or from a flag of the same name,
// lower-cased with dashes, which overrides it). The help tags are the
// documentation: docs/configuration.md is generated from them.
type Config struct {
	// Registries and organisations.
	SourceType          SourceType `env:"SOURCE_TYPE, default=quay" group:"Registries and organizations" help:"Kind of source registry: quay (a Quay organization), harbor (a Harbor project, read with Harbor's v2.0 API) or oci (any registry listing its repositories in the OCI distribution catalog; the organization is a repository path prefix: team-a mirrors team-a/app/web as app/web)."`
	SourceRegistry      string     `env:"SOURCE_REGISTRY" group:"Registries and organizations" help:"Source registry (a Quay, a Harbor or an OCI registry, as SOURCE_TYPE says): a host such as quay.example.com (https) or a URL http(s)://host[:port]. Mirrors pull from SOURCE_REGISTRY's host/<organization>/<repository>. Required."`
	DestinationRegistry string     `env:"DESTINATION_REGISTRY" group:"Registries and organizations" help:"Destination Quay, same forms as SOURCE_REGISTRY. Required."`
	Organizations       OrgList    `env:"ORGANIZATIONS" flag:"org" group:"Registries and organizations" help:"Organizations to mirror, comma-separated, each 'src' or 'src:dst' (destination name when it differs). The flag --org may be repeated. Required for sync, plan, status, check and verify."`
	RobotName           string     `env:"ROBOT_NAME" group:"Registries and organizations" help:"Destination robot account that pushes mirrored images: a short name used as <dst-org>+<name>, or a full org+name. Required for sync, plan, check and verify."`
	SourceReferenceHost string     `env:"SOURCE_REFERENCE_HOST" group:"Registries and organizations" help:"host[:port] the destination's mirror workers use to reach the source, when it differs from SOURCE_REGISTRY's (for example an internal name)."`

	// Credentials.
	SourceToken          quaymirror.Secret `env:"SOURCE_TOKEN" group:"Credentials" help:"Token for the source API, used for every organization: for quay an OAuth token (scopes repo:read and user:read), required; for harbor an OIDC ID token; for oci a bearer token sent as is. Alternative to SOURCE_TOKENS_DIR."`
	SourceTokensDir      string            `env:"SOURCE_TOKENS_DIR" group:"Credentials" help:"Directory with one file per source organization holding its token (the quay-source-api-tokens Secret mounted as files)."`
	SourceUsername       string            `env:"SOURCE_USERNAME" group:"Credentials" help:"For a harbor or oci source: the user name read with, for every organization (a Harbor robot account robot$<project>+<name>, or a user). With SOURCE_PASSWORD; alternative to a token and to SOURCE_CREDENTIALS_DIR. Without any, harbor and oci sources are read anonymously."`
	SourcePassword       quaymirror.Secret `env:"SOURCE_PASSWORD" group:"Credentials" help:"Password or secret of SOURCE_USERNAME."`
	SourceCredentialsDir string            `env:"SOURCE_CREDENTIALS_DIR" group:"Credentials" help:"For a harbor or oci source: directory with one file per source organization holding username:password (a Secret mounted as files)."`
	DestinationToken     quaymirror.Secret `env:"DESTINATION_TOKEN" group:"Credentials" help:"OAuth token for the destination API (scopes repo:admin, repo:create, org:admin and user:read), used for every organization. Alternative to DESTINATION_TOKENS_DIR."`
	DestinationTokensDir string            `env:"DESTINATION_TOKENS_DIR" group:"Credentials" help:"Directory with one file per destination organization holding its token (the quay-destination-api-tokens Secret mounted as files)."`
	QuayUsername         string            `env:"QUAY_USERNAME" group:"Credentials" help:"Username the destination's mirror workers pull from the source with (a service or robot account). Alternative to QUAY_CREDENTIALS_DIR."`
	QuayPassword         quaymirror.Secret `env:"QUAY_PASSWORD" group:"Credentials" help:"Password or token for QUAY_USERNAME, written into every mirror."`
	QuayCredentialsDir   string            `env:"QUAY_CREDENTIALS_DIR" group:"Credentials" help:"Directory with files quay_username and quay_password (the quay-credentials Secret mounted as files)."`

	// Mirror configuration written into every repository.
	TagGlob            JSONList `env:"TAG_GLOB, default=[\"*\"]" group:"Mirror configuration" help:"Tags to mirror: a JSON list of globs (fnmatch: * ? [..]), e.g. [\"v*\",\"latest\"]."`
	SyncInterval       Seconds  `env:"SYNC_INTERVAL, default=600" group:"Mirror configuration" help:"Seconds between two synchronizations of a mirror: at least 60 (0 means the default)."`
	RecreateMirror     Bool     `env:"RECREATE_MIRROR_CONFIG, default=false" flag:"recreate-mirror-config" group:"Mirror configuration" help:"Re-send the full configuration of every existing mirror the run reads, password included (after a credential rotation, say): the tick's slice of them (FULL_CHECK_EVERY), every one with --full."`
	MirrorVerifyTLS    Bool     `env:"MIRROR_VERIFY_TLS, default=true" group:"Mirror configuration" help:"Mirrors verify the source's TLS certificate."`
	UnsignedImages     Bool     `env:"UNSIGNED_IMAGES, default=false" group:"Mirror configuration" help:"Mirrors accept unsigned images."`
	MirrorHTTPProxy    string   `env:"MIRROR_HTTP_PROXY" group:"Mirror configuration" help:"http_proxy the mirror workers use towards the source."`
	MirrorHTTPSProxy   string   `env:"MIRROR_HTTPS_PROXY" group:"Mirror configuration" help:"https_proxy the mirror workers use towards the source."`
	MirrorNoProxy      string   `env:"MIRROR_NO_PROXY" group:"Mirror configuration" help:"no_proxy for the mirror workers."`
	SkopeoTimeout      Seconds  `env:"SKOPEO_TIMEOUT, default=0" group:"Mirror configuration" help:"Seconds each image copy may take (Quay 3.15+, at least 300); 0 leaves the server's default."`
	ArchitectureFilter CSV      `env:"ARCHITECTURE_FILTER" group:"Mirror configuration" help:"Platforms to mirror, comma-separated among amd64, arm64, ppc64le, s390x (Quay 3.17+); empty means all."`

	// Policy.
	DryRun         Bool       `env:"DRY_RUN, default=false" group:"Policy" help:"Plan only: print what would be done and write nothing."`
	Include        CSV        `env:"INCLUDE" group:"Policy" help:"Only repositories matching one of these comma-separated globs."`
	Exclude        CSV        `env:"EXCLUDE" group:"Policy" help:"Leave out repositories matching one of these comma-separated globs."`
	Visibility     Visibility `env:"VISIBILITY, default=private" group:"Policy" help:"Visibility of created repositories: private, public, or source (copy the source's)."`
	AdoptExisting  Bool       `env:"ADOPT_EXISTING, default=false" group:"Policy" help:"Turn destination repositories that already hold tags into mirrors. Quay's mirror then deletes the tags the globs do not select."`
	SyncNow        Bool       `env:"SYNC_NOW, default=true" group:"Policy" help:"Ask for an immediate first synchronization of every new mirror."`
	DisableOrphans Bool       `env:"DISABLE_ORPHANS, default=false" group:"Policy" help:"Disable (never delete) the mirrors of repositories gone from the source."`
	VerifyGrace    Seconds    `env:"VERIFY_GRACE, default=0" group:"Policy" help:"Seconds verify gives the mirrors to copy a change made at the source: a tag changed more recently that the destination lacks or holds at another digest is pending, not missing or stale (0: twice SYNC_INTERVAL)."`

	// Incremental checks.
	TickPeriod     Seconds `env:"TICK_PERIOD, default=3600" group:"Incremental checks" help:"Seconds between two runs: the PingSource's or the CronJob's schedule. A run's tick number, the clock's Unix time divided by TICK_PERIOD and rounded (a run a moment early is still its hour's), picks the slice of existing mirrors it reads (FULL_CHECK_EVERY)."`
	FullCheckEvery Int     `env:"FULL_CHECK_EVERY, default=0" group:"Incremental checks" help:"Read every existing mirror once every N ticks, a slice of them per tick (a hash of the repository name modulo N against the tick number), so that a run of a large organization fits its time limit. Every tick still lists both sides, creates the new repositories, configures those the listing shows are not mirrors and reports orphans. 0 chooses N among 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, ... so that a tick reads at most 1000 mirrors (an organization of up to 1000 is read in full every tick; 20,000 make 24 slices); 1 reads every mirror every tick. RECREATE_MIRROR_CONFIG follows the slices too; --full reads (and recreates) every mirror at once, --tick N picks the slice of tick N."`

	// Performance.
	QPS         Float `env:"QPS, default=25" group:"Performance" help:"Requests per second to each registry (0: no limit). The default fits Quay's nginx limit for HTTP/2 clients (50/s); behind an HTTP/1 limit of 5/s per client set 4.5: retries do not make up for a rate above the server's (docs/performance.md)."`
	Burst       Int   `env:"BURST, default=25" group:"Performance" help:"Requests allowed at once above QPS."`
	Concurrency Int   `env:"CONCURRENCY, default=8" group:"Performance" help:"Repositories worked on at once (quay.io resets connections past about 20 parallel requests)."`

	// Connection.
	CABundle          string   `env:"CA_BUNDLE" group:"Connection" help:"PEM file of CA certificates to trust for both registries, in addition to the system's."`
	AllowInsecureHTTP Bool     `env:"ALLOW_INSECURE_HTTP, default=false" group:"Connection" help:"Allow plain http:// registries that are not on loopback (tokens then cross the network in clear)."`
	RequestTimeout    Duration `env:"REQUEST_TIMEOUT, default=30s" group:"Connection" help:"Time limit of one HTTP request, retries excluded (Go duration such as 30s or seconds)."`
	Timeout           Duration `env:"TIMEOUT, default=0" group:"Connection" help:"Time budget of a whole run: after it no new repository is started and the report says the run was interrupted (0: none)."`

	// Output.
	Output           Output   `env:"OUTPUT, default=text" group:"Output" help:"Report format on stdout: text or json."`
	Debug            Bool     `env:"DEBUG, default=false" group:"Output" help:"Debug logging on stderr (secrets are never logged)."`
	ProgressInterval Duration `env:"PROGRESS_INTERVAL, default=10s" group:"Output" help:"When stderr is not a terminal (a CronJob, the function), log every organization's progress at this interval: phase, repositories done and to do, rate, time left (0: never). On a terminal a live display shows the same."`

	// Metrics and events.
	MetricsPushgateway PushgatewayURL `env:"METRICS_PUSHGATEWAY" group:"Metrics and events" help:"Pushgateway base URL, http(s)://host[:port][/prefix]: at the end of every run the metrics of each organization are pushed to the group job=quaymirror, organization, command (docs/operations.md). user:password@ in it is sent as basic auth and never shown. A failed push is a warning."`
	Sink               SinkURL        `env:"K_SINK" flag:"k-sink" group:"Metrics and events" help:"Where serve also sends each report CloudEvent (set by a Knative SinkBinding): an http(s) URL. A failed send is a warning."`
}

// Error is an invalid setting.
type Error struct {
	// Setting is the environment variable name.
	Setting string
	Msg     string
}

func (e *Error) Error() string { return e.Setting + ": " + e.Msg }

// ErrInvalid is wrapped by every configuration error.
var ErrInvalid = errors.New("invalid configuration")

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func invalid(setting, format string, args ...any) error {
	return &Error{Setting: setting, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads the configuration from l (the environment, a map, flags
// layered over the environment) and checks every value's form. It reads
// no file: Resolve does.
func Parse(ctx context.Context, l envconfig.Lookuper) (*Config, error) {
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: l}); err != nil {
		return nil, renameFieldError(err)
	}
	return &c, nil
}

// renameFieldError turns go-envconfig's "GoField: ..." into "ENV_NAME: ...".
func renameFieldError(err error) error {
	field, rest, ok := strings.Cut(err.Error(), ": ")
	if s, found := settingOfField(field); ok && found {
		return &Error{Setting: s.Env, Msg: rest}
	}
	return fmt.Errorf("%w: %s", ErrInvalid, err)
}

// Setting describes one configuration setting.
type Setting struct {
	Field   string // Go field name
	Env     string // environment variable
	Flag    string // flag name, without dashes
	Default string
	Group   string
	Help    string
	Secret  bool
	Bool    bool
}

// Settings lists every setting in declaration order.
func Settings() []Setting {
	t := reflect.TypeFor[Config]()
	out := make([]Setting, 0, t.NumField())
	for f := range t.Fields() {
		tag := f.Tag.Get("env")
		name, opts, _ := strings.Cut(tag, ",")
		s := Setting{Field: f.Name, Env: strings.TrimSpace(name), Group: f.Tag.Get("group"), Help: f.Tag.Get("help")}
		if _, def, ok := strings.Cut(opts, "default="); ok {
			s.Default = def
		}
		s.Flag = f.Tag.Get("flag")
		if s.Flag == "" {
			s.Flag = strings.ReplaceAll(strings.ToLower(s.Env), "_", "-")
		}
		s.Secret = f.Type == reflect.TypeFor[quaymirror.Secret]()
		s.Bool = f.Type == reflect.TypeFor[Bool]()
		out = append(out, s)
	}
	return out
}

func settingOfField(field string) (Setting, bool) {
	for _, s := range Settings() {
		if s.Field == field {
			return s, true
		}
	}
	return Setting{}, false
}
