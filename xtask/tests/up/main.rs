//! `cargo xtask up` (docs/local-stack.md), run as a person runs it: the
//! xtask binary with `up --detach` on free ports, over a copy of the
//! project's asset directory and a state directory of the test's own,
//! then `down`.
//!
//! - `journey`: through the running stack (OGX 1.5.0, the default), a
//!   `generic/sync` request about a new laptop is handed from the routing
//!   agent to the laptop-refresh agent, which calls the tools of the
//!   stub's script and answers with the ticket; a prompt file edited while
//!   it runs is copied into the service's asset directory and reloaded by
//!   the service (register-assets, run again, changes nothing), and the
//!   next turn sends the new prompt; `down` leaves no process and no
//!   listening port.
//! - `port_in_use`: a port already taken fails `up` with one line naming
//!   the component and the port, a non-zero exit, and nothing running.
//!
//! Needs the OGX venv (`target/venv/ogx-1.5.0`), tiktoken's cache
//! (`target/tiktoken-cache`) and PostgreSQL's server binaries; without them each test prints `SKIPPED: ...`, or
//! fails under `SSA_REQUIRE_ALL=1`.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod journey;
mod port_in_use;
