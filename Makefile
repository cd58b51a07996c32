# quaymirror — run `make help` for the targets.
GO      ?= go
PKGS    ?= ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/quaymirror/quaymirror/internal/version.Version=$(VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: test
test: lint ## Run every test with the race detector, after the lint checks.
	$(GO) test -race -count=1 $(PKGS)

.PHONY: lint
lint: ## gofmt, go vet and go mod tidy must leave nothing to change.
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

.PHONY: demo
demo: ## Run check, plan, sync and status against two emulated Quays on loopback.
	$(GO) run ./cmd/quaymirror demo

.PHONY: build
build: ## Build the quaymirror binary into bin/.
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

.PHONY: docs
docs: ## Regenerate the generated parts of docs/ (the configuration tables).
	$(GO) test ./internal/config -run TestConfigurationDocIsCurrent -update
