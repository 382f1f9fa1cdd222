//! The images' process contract as a table: every binary a container of
//! the chart may run, in which image, with which command lines and which
//! environment variables (docs/chart.md, docs/mcp-servers.md).

use crate::common::chart::{
    Container, DB_MIGRATE, EMPLOYEE_INFO, MCP_SERVER, REGISTER_ASSETS, SERVICE, SNOW,
};

/// A binary of an image and what the chart may hand it.
pub struct Binary {
    /// The image: `None` the main image, else the MCP server's (its
    /// pods' component label).
    pub image: Option<&'static str>,
    pub path: &'static str,
    /// Whether the arguments after the binary are a command line it has.
    pub accepts: fn(&[&str]) -> bool,
    /// The environment variables it reads, in groups.
    pub env: &'static [&'static [&'static str]],
}

const LOGGING: &[&str] = &["LOG_LEVEL", "LOG_FORMAT", "RUST_LOG"];
const DATABASE: &[&str] = &[
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "DATABASE_URL",
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
    "DB_POOL_TIMEOUT",
    "DB_POOL_RECYCLE",
    "SQL_DEBUG",
    "DB_WAIT_TIMEOUT",
];
const LLAMASTACK: &[&str] = &["LLAMA_STACK_URL", "LLAMASTACK_SERVICE_HOST"];
/// What both MCP servers read (docs/mcp-servers.md, "Settings").
const MCP_SETTINGS: &[&str] = &[
    "LISTEN_ADDR",
    "MCP_TRANSPORT",
    "MCP_AUTH_TOKEN",
    "MCP_ALLOW_ANY_EMPLOYEE",
    "MCP_ALLOWED_HOSTS",
    "SHUTDOWN_TIMEOUT",
    "EMPLOYEE_DATA_FILE",
    "TICKET_IDEMPOTENCY_WINDOW",
];
const SERVICENOW: &[&str] = &[
    "SERVICENOW_INSTANCE_URL",
    "SERVICENOW_API_KEY",
    "SERVICENOW_API_KEY_HEADER",
    "SERVICENOW_USERNAME",
    "SERVICENOW_PASSWORD",
    "SERVICENOW_LAPTOP_REFRESH_ID",
    "SERVICENOW_TIMEOUT",
    "SERVICENOW_RETRIES",
    "SERVICENOW_LAPTOP_REQUEST_LIMITS",
    "SERVICENOW_LAPTOP_AVOID_DUPLICATES",
];

/// `serve` (the default) and `healthcheck --url`, as both the service and
/// the MCP servers have them.
fn serve_or_healthcheck(args: &[&str]) -> bool {
    match args {
        ["serve"] => true,
        ["healthcheck", "--url", url] => url.starts_with("http://"),
        _ => false,
    }
}

/// Every binary a container of the chart may run. A workload added to the
/// chart runs one of these, or its binary gets a row here.
pub const BINARIES: &[Binary] = &[
    Binary {
        image: None,
        path: DB_MIGRATE,
        accepts: |args| matches!(args.first(), Some(&"up" | &"wait" | &"status")),
        env: &[
            LOGGING,
            DATABASE,
            &[
                "DB_LOCK_TIMEOUT",
                "EXPECTED_MIGRATION_VERSION",
                "MIGRATION_WAIT_TIMEOUT",
            ],
        ],
    },
    Binary {
        image: None,
        path: REGISTER_ASSETS,
        accepts: |args| {
            args.iter()
                .all(|arg| ["--dry-run", "--prune"].contains(arg))
        },
        env: &[
            LOGGING,
            LLAMASTACK,
            &["ASSET_CONFIG_DIR", "LLAMA_STACK_WAIT_TIMEOUT"],
        ],
    },
    Binary {
        image: None,
        path: SERVICE,
        accepts: serve_or_healthcheck,
        env: &[
            LOGGING,
            DATABASE,
            LLAMASTACK,
            &[
                "LISTEN_ADDR",
                "EXPECTED_MIGRATION_VERSION",
                "AUTH_MODE",
                "API_KEYS_FILE",
                "REQUEST_MANAGER_URL",
                "MCP_AUTH_TOKEN",
            ],
        ],
    },
    Binary {
        image: Some(EMPLOYEE_INFO),
        path: MCP_SERVER,
        accepts: serve_or_healthcheck,
        env: &[LOGGING, MCP_SETTINGS, SERVICENOW],
    },
    Binary {
        image: Some(SNOW),
        path: MCP_SERVER,
        accepts: serve_or_healthcheck,
        env: &[LOGGING, MCP_SETTINGS, SERVICENOW],
    },
];

/// The image a container runs: `None` the main image, else the MCP
/// server's component.
pub fn image_of(container: &Container<'_>) -> Option<&'static str> {
    [EMPLOYEE_INFO, SNOW]
        .into_iter()
        .find(|mcp| container.component() == Some(*mcp))
}

pub fn binary(what: &str, image: Option<&str>, path: &str) -> &'static Binary {
    BINARIES
        .iter()
        .find(|binary| binary.image == image && binary.path == path)
        .unwrap_or_else(|| panic!("{what}: {path} is not a binary of the image {image:?}"))
}

/// Checks a command line against the image's binaries and their command lines.
pub fn check_command(what: &str, image: Option<&str>, argv: &[&str]) {
    let (path, args) = argv
        .split_first()
        .unwrap_or_else(|| panic!("{what}: empty command"));
    assert!(
        (binary(what, image, path).accepts)(args),
        "{what}: {path} {args:?} is not a command line it has"
    );
}
