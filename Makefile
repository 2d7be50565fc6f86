# Rampart developer entry points. `make` alone prints this help.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Go 1.27.3 everywhere (security fixes in net/http, crypto/tls, crypto/x509);
# the go command fetches it through the module proxy on first use.
export GOTOOLCHAIN := go1.27.3
GO        ?= go
TOOLS_BIN := $(CURDIR)/bin/tools
BUF       := $(TOOLS_BIN)/buf
LINT      := $(TOOLS_BIN)/golangci-lint
VULNCHECK := $(TOOLS_BIN)/govulncheck
# Offline vulnerability database, built from the golang.org/x/vulndb module
# pinned in tools/vuln/go.mod; one directory per vulndb version.
VULNDB_VERSION := $(shell awk '$$1=="golang.org/x/vulndb"{print $$2}' tools/vuln/go.mod)
VULNDB    := $(TOOLS_BIN)/vulndb/$(VULNDB_VERSION)
# Every module in go.work; `./...` does not cross module boundaries. GNU Make
# before 4.4 does not pass exported variables to $(shell), and the image's
# go.env says GOTOOLCHAIN=local, so name the toolchain here too.
MODULES   := $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) $(GO) list -f '{{.Dir}}' -m 2>/dev/null)
PKGS      := $(addsuffix /...,$(MODULES))
SERVICES  := auth keyvault inference ingestion slackadapter edge
BENCHTIME ?= 2000x

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  \033[36m%-16s\033[0m %s\n",$$1,$$2}'

.PHONY: run
run: ## Run the whole stack on loopback (dev PKI, SQLite, bootstrap key in .rampart/dev.env)
	$(GO) run ./cmd/rampart dev

.PHONY: run-ha
run-ha: ## Run it on PostgreSQL and Redis with two replicas of every service (needs initdb, postgres, redis-server)
	$(GO) run ./cmd/rampart dev --ha

.PHONY: test
test: ## Unit and integration tests (starts real servers, Redis, PostgreSQL on loopback)
	$(GO) test -count=1 -timeout 20m $(PKGS)

.PHONY: test-race
test-race: ## Tests with the race detector
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

.PHONY: build
build: ## Build every binary into bin/
	@mkdir -p bin
	@for s in $(SERVICES); do CGO_ENABLED=0 $(GO) build -trimpath -o bin/$$s ./services/$$s/cmd/$$s || exit 1; done
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/rampart ./cmd/rampart

.PHONY: tools
tools: $(BUF) $(TOOLS_BIN)/protoc-gen-go $(LINT) $(VULNCHECK) ## Install the pinned tools into bin/tools

$(TOOLS_BIN)/protoc-gen-go: tools/go.mod tools/go.sum
	cd tools && GOWORK=off GOBIN=$(TOOLS_BIN) $(GO) install tool
	@touch $@

$(BUF): tools/buf/go.mod tools/buf/go.sum
	cd tools/buf && GOWORK=off GOBIN=$(TOOLS_BIN) $(GO) install tool
	@touch $@

$(LINT): tools/lint/go.mod tools/lint/go.sum
	cd tools/lint && GOWORK=off GOBIN=$(TOOLS_BIN) $(GO) install tool
	@touch $@

# govulncheck and indexdb (x/vulndb's OSV-directory -> v1 database writer).
$(VULNCHECK): tools/vuln/go.mod tools/vuln/go.sum
	cd tools/vuln && GOWORK=off GOBIN=$(TOOLS_BIN) $(GO) install tool
	@touch $@

# The vulndb module zip carries data/osv/GO-*.json (one OSV entry per report)
# but no index; indexdb writes the v1 layout govulncheck reads from file://
# (index/db.json, index/modules.json, ID/GO-*.json). bin/ may be shared by
# several worktrees: the build holds a lock and writes to a temporary
# directory that is renamed at the end, so no reader sees half a database.
$(VULNDB)/index/modules.json: tools/vuln/go.mod $(VULNCHECK)
	@mkdir -p $(TOOLS_BIN)/vulndb
	@set -euo pipefail; exec 9>$(TOOLS_BIN)/vulndb/.lock; flock 9; \
	osv="$$(cd tools/vuln && GOWORK=off $(GO) mod download golang.org/x/vulndb && \
		GOWORK=off $(GO) list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv"; \
	echo "indexdb -vulns $$osv -out $(VULNDB)"; \
	rm -rf $(TOOLS_BIN)/vulndb/.build; \
	$(TOOLS_BIN)/indexdb -vulns "$$osv" -out $(TOOLS_BIN)/vulndb/.build; \
	find $(TOOLS_BIN)/vulndb -mindepth 1 -maxdepth 1 -type d ! -name .build -exec rm -rf {} +; \
	mv $(TOOLS_BIN)/vulndb/.build $(VULNDB)

.PHONY: vulncheck
vulncheck: $(VULNCHECK) $(VULNDB)/index/modules.json ## govulncheck every module against the pinned offline vulndb; fails on a reachable vulnerability
	@# Canary: an empty or misread database would make every scan pass, so the
	@# database must know the standard-library vulnerabilities of Go 1.26.8.
	@$(VULNCHECK) -mode query -format json -db file://$(VULNDB) stdlib@go1.26.8 | grep -q '"osv"' || \
		{ echo "vulndb at $(VULNDB) reports nothing for stdlib@go1.26.8: database broken"; exit 1; }
	@# govulncheck needs a module directory to start in; go.work then puts
	@# every module's packages into one load and one call graph.
	@test -n "$(PKGS)" || { echo "go list -m found no modules"; exit 1; }
	$(VULNCHECK) -C $(CURDIR)/pkg -db file://$(VULNDB) $(PKGS)

.PHONY: generate
generate: $(BUF) $(TOOLS_BIN)/protoc-gen-go ## Regenerate gen/ from proto/ (buf generate) and lint the protos
	$(BUF) lint
	flock /tmp/rampart-buf-generate.lock $(BUF) generate
	@# The one OpenAPI 3.1 document of the edge (converted from the generated
	@# Swagger 2.0 with kin-openapi, pinned in tools/openapi/go.mod): the edge
	@# embeds gen/openapi/rampart.json and docs/api/ holds the same bytes.
	@# The protos' descriptors tell it which fields every response carries.
	@mkdir -p gen/openapi docs/api
	desc=$$(mktemp --suffix=.binpb) && $(BUF) build -o $$desc && \
	  (cd tools/openapi && GOWORK=off $(GO) run . -in $(CURDIR)/gen/openapiv2/rampart.swagger.json -descriptors $$desc -out $(CURDIR)/gen/openapi/rampart.json); \
	  rc=$$?; rm -f $$desc; exit $$rc
	cp gen/openapi/rampart.json docs/api/openapi.json

.PHONY: generate-check
generate-check: generate ## Fail if the committed generated code differs from the protos
	@if [ -n "$$(git status --porcelain -- gen docs/api)" ]; then \
		echo "generated code is stale; run 'make generate' and commit:"; \
		git status --porcelain -- gen docs/api; git --no-pager diff --stat -- gen docs/api; exit 1; fi

.PHONY: tidy-check
tidy-check: ## Fail if any module's go.mod/go.sum is not what go mod tidy writes
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done
	@if [ -n "$$(git status --porcelain -- '*go.mod' '*go.sum')" ]; then \
		echo "go.mod/go.sum not tidy; run 'make tidy-check' and commit:"; \
		git --no-pager diff --stat -- '*go.mod' '*go.sum'; exit 1; fi

.PHONY: lint
lint: $(LINT) $(BUF) ## buf lint + golangci-lint over every module
	$(BUF) lint
	@set -e; for m in $(MODULES); do echo "golangci-lint $$m"; (cd $$m && $(LINT) run --allow-serial-runners --config $(CURDIR)/.golangci.yml ./...); done

.PHONY: bench-stack
bench-stack: ## The real stack (`rampart dev`) vs direct, a bare proxy hop and the two-hop floor; BENCH_REQUESTS/BENCH_SECONDS/BENCH_ROUNDS shrink it
	$(GO) run ./tests/e2e/benchstack -root $(CURDIR)

.PHONY: bench-ha
bench-ha: ## Scale-out (issue 16): SQLite vs --ha PostgreSQL throughput, failover p50/p99, ingestion with 1 vs 2 replicas; BENCH_HA_SECONDS/BENCH_HA_KILLS/BENCH_HA_DOCS size it
	$(GO) run ./tests/e2e/benchha -root $(CURDIR)

BENCH := $(GO) test -run '^$$' -benchmem -count=1

.PHONY: bench
bench: ## Benchmarks: each reports p50/p99 and ratios against a baseline measured in the same run
	@echo "## Foundation: bare mTLS round trip (the floor), /v1/whoami edge→auth vs direct, key parsing, assertion verification"
	$(BENCH) -bench . -benchtime 2000x ./pkg/serve ./services/edge/internal/router
	$(BENCH) -bench . ./pkg/apikey ./pkg/principal
	@echo "## Auth and edge: key verification (edge cache hit/miss), VerifyKey over mTLS, rate limits (memory, Redis), revocation propagation"
	$(BENCH) -bench . -benchtime 2000x ./services/edge/internal/authn ./services/edge/internal/ratelimit ./services/auth/internal/server
	@echo "## Keyvault: GetSecretValue cached (pkg/secrets) and over mTLS with audit, vs a bare round trip"
	$(BENCH) -bench . -benchtime 5000x ./services/keyvault/internal/server
	$(BENCH) -bench . ./pkg/secrets
	@echo "## Inference: chat completions and /v1/responses (translated to chat, and passed through to an upstream Responses API) through edge→inference→instant fake upstream vs direct to the fake"
	$(BENCH) -bench . -benchtime 2000x ./services/edge/internal/openai ./services/inference/internal/wire
	@echo "## Retrieval-augmented chat: added latency of rampart.collections (Search over mTLS to ingestion, 8 passages) over the same chat without"
	$(BENCH) -bench RAGChat -benchtime 500x ./services/inference/internal/server
	@echo "## Slack adapter: ack latency of a signed event relayed over mTLS (verify, parse, dedupe, queue)"
	$(BENCH) -bench . -benchtime 2000x ./services/slackadapter/internal/server
	@echo "## Ingestion: MB/s of text per worker end to end; hybrid search p50/p99 over ~14k chunks (INGESTION_BENCH_DOCS=290 for ~100k); exact cosine over 100k vectors"
	$(BENCH) -bench Ingest -benchtime 40x ./services/ingestion/internal/ingest
	$(BENCH) -bench 'Search|TopK' -benchtime 500x ./services/ingestion/internal/ingest
	@echo "## Ingestion: the fused analyser vs bleve's filter chain; hash embedding"
	$(BENCH) -bench Analyzer ./services/ingestion/internal/index
	$(BENCH) -bench Vector ./pkg/hashembed
	@echo "## Ingestion ANN: HNSW build (wall and CPU), memory, incremental insert, p50/p99 and recall@10 at 100k 384-dim vectors (make bench-ann ANN_BENCH_N=1000000 for 1M)"
	$(BENCH) -bench Dot ./services/ingestion/internal/ann
	$(BENCH) -bench HNSW -benchtime 2000x -timeout 3h ./services/ingestion/internal/ann

ANN_BENCH_N ?= 250000
.PHONY: bench-ann
bench-ann: ## HNSW at ANN_BENCH_N 384-dim vectors (default 250000; 1000000 needs ~4 GB and tens of CPU-minutes)
	ANN_BENCH_N=$(ANN_BENCH_N) $(BENCH) -v -bench HNSW -benchtime 2000x -timeout 6h ./services/ingestion/internal/ann

.PHONY: compose-check
compose-check: ## Validate docker-compose.yml and the deploy manifests (no Docker engine needed)
	$(GO) test -count=1 -run 'Compose|Deploy' ./tests/e2e/...

.PHONY: clean
clean: ## Remove build output (keeps .rampart/)
	rm -rf bin
