//! The Helm chart in `helm/`, rendered and linted by the real Helm v4 engine
//! (PyPI `helm-python-sdk`, through `helm/tests/render.py` in the tools venv
//! `target/venv/tools` from `ci/python/tools.txt`), every object validated
//! against the Kubernetes schemas (`kubernetes-validate`, strict), and the
//! pods checked against the images' process contract and the restricted Pod
//! Security Standard; the MCP servers, their NetworkPolicy and token; the
//! delivery dispatcher and the channels' settings, Slack and its Ingress;
//! the values schema; and `cargo xtask helm`.
//!
//! The render checks run on the override sets of `sets.rs`, rendered once
//! per test process. A check over every pod or container walks the render
//! (`common::chart`), so a new workload of the chart is checked without
//! changing the tests; what each binary may be given is the table in
//! `process_contract.rs`.
//!
//! Without the venv the chart tests print `SKIPPED: ...` and pass, unless
//! `SSA_REQUIRE_ALL=1`, where they fail.

#[path = "../common/mod.rs"]
mod common;

mod binaries;
mod defaults;
mod delivery;
mod lint_and_validate;
mod mcp_network_policy;
mod mcp_servers;
mod mcp_token;
mod overrides;
mod pod_security;
mod process_contract;
mod sets;
mod slack;
mod values_schema;
mod xtask_helm;
