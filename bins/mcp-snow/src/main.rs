//! `mcp-snow`: the snow MCP server (default), and a `healthcheck`
//! probe for images without a shell. Everything but the tools is
//! `mcp_support`'s.

use std::process::ExitCode;

// musl's allocator serialises a multi-threaded server; mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mcp_support::main("mcp-snow", snow_tools::run)
}
