//! The images as docs/image.md describes them: built by `cargo xtask
//! build-image` with podman and without any container tool, run read-only
//! as user 1001, reproducible, pushed by `cargo xtask push`, the MCP server
//! images beside the unified one (`--all`), the one-binary templates, and
//! `cargo xtask up --image` over the images built here.
//! The three images are built once per test process
//! (`common::images::all_images`) and shared by every test here.
//!
//! Needs podman, skopeo, umoci, docker-registry and htpasswd (`cargo xtask
//! provision` installs them); without them each test prints `SKIPPED: ...`,
//! or fails under `SSA_REQUIRE_ALL=1`.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod contents;
mod makefile;
mod mcp;
mod push;
mod reproducible;
mod runs;
mod templates;
mod up;

/// The binaries of the unified image, under `/usr/local/bin`.
const BINARIES: [&str; 3] = ["db-migrate", "register-assets", "self-service-agent"];
