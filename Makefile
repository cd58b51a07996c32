# quaymirror — run `make help` for the targets.
GO      ?= go
PKGS    ?= ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/quaymirror/quaymirror/quaymirror.version=$(VERSION) -X github.com/quaymirror/quaymirror/internal/version.Version=$(VERSION)

.DEFAULT_GOAL := help

# The race detector needs cgo, hence a C compiler. Where there is none (go
# then turns cgo off by itself) or CGO_ENABLED=0, the tests run without
# it, and say so. RACE= turns it off by hand.
RACE ?= $(shell cc=$$($(GO) env CC); [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v $${cc%% *} >/dev/null 2>&1 && echo -race)

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: test
test: lint ## Run every test (race detector on when there is a C compiler), then the deployment manifests' tests.
	@$(if $(RACE),,echo "warning: no C compiler (or CGO_ENABLED=0): the tests run without the race detector; install gcc to have it" >&2)
	$(GO) test $(RACE) -count=1 $(PKGS)
	$(MAKE) deploy-test

.PHONY: deploy-test
deploy-test: ## Build every kustomize overlay offline and check it against the real Kubernetes/Knative types.
	cd deploy && $(GO) vet ./... && $(GO) mod tidy -diff && $(GO) test -count=1 ./...

.PHONY: soak
soak: ## Long reliability tests: 500 repositories through faults (3 seeds), 60 SIGKILLs, 1000 scenarios.
	@$(if $(RACE),,echo "warning: no C compiler (or CGO_ENABLED=0): the soak runs without the race detector" >&2)
	QUAYMIRROR_SOAK=1 $(GO) test $(RACE) -count=1 -timeout 20m ./test/reliability/

# A count of executions, not a duration: with a duration, Go 1.26's fuzzing
# coordinator can report a spurious "context deadline exceeded" failure when
# the time runs out on a loaded machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 20000x
.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 20000x: executions), starting from the committed corpus.
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' --exclude-dir=deploy .); do \
	  dir=$$(dirname $$file); \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "fuzz $$dir $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) ./$$dir; \
	  done; \
	done

.PHONY: lint
lint: ## gofmt, go vet and go mod tidy must leave nothing to change.
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

.PHONY: demo
demo: ## Run check, plan, sync, status and verify against two emulated Quays, then sync from an OCI registry, on loopback.
	$(GO) run ./cmd/quaymirror demo

BENCH_SCENARIOS ?= 5000x1,5000x8,5000x32,5000x1@25,5000x8@25,5000x32@100,20000x32,20000x8@25/mirrored/ticks,100000x32
.PHONY: bench
bench: ## Measure sync against two emulated Quays: calls, time against the bound, memory, incremental ticks (about 75 min on a quiet machine; BENCH_SCENARIOS=500x1,500x8,500x32 for a one-minute run).
	$(GO) run ./cmd/quaymirror-bench --scenarios $(BENCH_SCENARIOS)

PLATFORMS ?= linux/amd64
PUSH      ?=
.PHONY: image
image: ## Build the image into bin/image (no container engine needed) and pin its digest in deploy/components/image; PUSH=registry/repo:tag also pushes it and pins that repository.
	rm -rf bin/image && cd deploy && $(GO) run ./cmd/build-image -version $(VERSION) -revision $$(git rev-parse HEAD) \
	  -platform $(PLATFORMS) -oci ../bin/image -pin components/image/kustomization.yaml $(if $(PUSH),-push $(PUSH))

.PHONY: build
build: ## Build the quaymirror binary into bin/.
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

.PHONY: docs
docs: ## Regenerate the generated parts of docs/ (the configuration tables).
	$(GO) test ./internal/config -run TestConfigurationDocIsCurrent -update
