# Thin wrappers over `cargo xtask`; the work and the defaults live there.
# Variables (same names and defaults as cargo xtask reads from the environment):
#   VERSION         image tag             (default: the workspace version)
#   REGISTRY        registry/organisation (default: quay.io/ecosystem-appeng)
#   AGENT_IMG       full image reference  (default: $(REGISTRY)/self-service-agent:$(VERSION))
#   CONTAINER_TOOL  podman | docker | buildah | none (default: the first found; none = OCI archive)
#   SERVICE_IMAGES  further binaries to package with Containerfile.services-template (build-all-images)
#   MCP_IMAGES      further binaries to package with Containerfile.mcp-template (build-all-images);
#                   the project's MCP servers (mcp-employee-info, mcp-snow) are always built,
#                   as $(AGENT_IMG) with -employee-info-mcp and -snow-mcp after the repository
#   TLS_VERIFY      false to push to a plain-HTTP or self-signed local registry

VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
REGISTRY ?= quay.io/ecosystem-appeng
AGENT_IMG ?= $(REGISTRY)/self-service-agent:$(VERSION)
CONTAINER_TOOL ?=
SERVICE_IMAGES ?=
MCP_IMAGES ?=
TLS_VERIFY ?= true

export VERSION REGISTRY AGENT_IMG CONTAINER_TOOL

XTASK := cargo xtask

.PHONY: help build-agent-image build-all-images push-agent-image push-all-images \
	helm-install helm-uninstall helm-status test lint

help: ## Show the targets and the current settings
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "VERSION=$(VERSION)"
	@echo "REGISTRY=$(REGISTRY)"
	@echo "AGENT_IMG=$(AGENT_IMG)"
	@echo "CONTAINER_TOOL=$(if $(CONTAINER_TOOL),$(CONTAINER_TOOL),(auto))"

build-agent-image: ## Build the static binaries and the image AGENT_IMG
	$(XTASK) build-image

build-all-images: ## The agent image, the two MCP server images, SERVICE_IMAGES and MCP_IMAGES
	$(XTASK) build-image --all
	@set -e; for binary in $(SERVICE_IMAGES); do \
		$(XTASK) build-image --template services --binary $$binary; done
	@set -e; for binary in $(MCP_IMAGES); do \
		$(XTASK) build-image --template mcp --binary $$binary; done

push-agent-image: ## Push the last built agent image (to AGENT_IMG) and print its digest
	$(XTASK) push --tls-verify=$(TLS_VERIFY)

push-all-images: ## Push the agent image, the two MCP server images and the template images
	$(XTASK) push --all --tls-verify=$(TLS_VERIFY)
	@set -e; for binary in $(SERVICE_IMAGES); do \
		$(XTASK) push --template services --binary $$binary --tls-verify=$(TLS_VERIFY); done
	@set -e; for binary in $(MCP_IMAGES); do \
		$(XTASK) push --template mcp --binary $$binary --tls-verify=$(TLS_VERIFY); done

helm-install: ## Install or upgrade the chart with the last built images
	$(XTASK) helm install

helm-uninstall: ## Uninstall the chart
	$(XTASK) helm uninstall

helm-status: ## Show the release's status
	$(XTASK) helm status

test: ## Provision the machine and run the whole test suite
	$(XTASK) test

lint: ## rustfmt --check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
