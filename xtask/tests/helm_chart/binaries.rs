//! The images' process contract as a table: every binary a container of
//! the chart may run, in which image, with which command lines and which
//! environment variables (docs/chart.md, docs/mcp-servers.md).

use crate::common::chart::{
    Container, DB_MIGRATE, EMPLOYEE_INFO, MCP_SERVER, REGISTER_ASSETS, SERVICE, SNOW,
};

/// A binary of an image, the command lines of one of its roles, and what
/// the chart may hand it in that role.
pub struct Binary {
    /// The image: `None` the main image, else the MCP server's (its
    /// pods' component label).
    pub image: Option<&'static str>,
    pub path: &'static str,
    /// Whether the arguments after the binary are a command line of this
    /// role.
    pub accepts: fn(&[&str]) -> bool,
    /// The environment variables it reads in this role, in groups.
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

/// The delivery channels' settings (docs/delivery.md, "Settings"), read by
/// every process that checks integrations or delivers.
pub const DELIVERY: &[&str] = &[
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_SECURITY",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_TIMEOUT",
    "FROM_EMAIL",
    "FROM_NAME",
    "WEBHOOK_SIGNING_SECRET",
    "WEBHOOK_TIMEOUT",
];
/// What a dispatcher reads (crates/agent-service/src/config.rs): how many
/// deliveries at once, how often it looks, how long it backs off.
pub const DISPATCHING: &[&str] = &[
    "DISPATCH_CONCURRENCY",
    "DISPATCH_POLL_INTERVAL",
    "DELIVERY_MAX_BACKOFF",
];
/// Slack's credentials and Web API settings (docs/slack.md, "Settings"),
/// which the SLACK channel needs as much as the routes do.
pub const SLACK_CLIENT: &[&str] = &[
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_API_TIMEOUT",
    "SLACK_INLINE_RETRY_MAX",
];
/// The settings of Slack's routes on the request API.
const SLACK_ROUTES: &[&str] = &[
    "SLACK_COMMAND",
    "SLACK_MAX_BODY_BYTES",
    "SLACK_ACK_TIMEOUT",
    "SLACK_USER_CACHE_TTL",
];

/// The variables of the contract that hold secrets: the chart hands them
/// over only as `secretKeyRef`, never as a value in the pod spec.
pub const SECRETS: &[&str] = &[
    "POSTGRES_PASSWORD",
    "MCP_AUTH_TOKEN",
    "SERVICENOW_API_KEY",
    "SERVICENOW_PASSWORD",
    "SMTP_PASSWORD",
    "WEBHOOK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
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
                "ASSET_CONFIG_DIR",
                "ASSET_RELOAD_INTERVAL",
                "AUTH_MODE",
                "API_KEYS_FILE",
                "REQUEST_MANAGER_URL",
                "MCP_AUTH_TOKEN",
                "ADMIN_USERS",
                "WORKER_CONCURRENCY",
                "WORKER_POLL_INTERVAL",
                "DELIVERY_TTL",
                "DISPATCHER_ENABLED",
                "SHUTDOWN_TIMEOUT",
            ],
            DISPATCHING,
            DELIVERY,
            SLACK_CLIENT,
            SLACK_ROUTES,
        ],
    },
    // `dispatch`: the dispatcher alone, with /health, /ready (the database,
    // the schema, LlamaStack) and /metrics on LISTEN_ADDR; no request API,
    // so no authentication, no request workers, no Slack routes.
    Binary {
        image: None,
        path: SERVICE,
        accepts: |args| args == ["dispatch"],
        env: &[
            LOGGING,
            DATABASE,
            LLAMASTACK,
            &[
                "LISTEN_ADDR",
                "EXPECTED_MIGRATION_VERSION",
                "SHUTDOWN_TIMEOUT",
            ],
            DISPATCHING,
            DELIVERY,
            SLACK_CLIENT,
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

/// The row of the binary `argv` runs in `image`, by its path and command
/// line.
pub fn binary(what: &str, image: Option<&str>, argv: &[&str]) -> &'static Binary {
    let (path, args) = argv
        .split_first()
        .unwrap_or_else(|| panic!("{what}: empty command"));
    let mut rows = BINARIES
        .iter()
        .filter(|binary| binary.image == image && binary.path == *path)
        .peekable();
    assert!(
        rows.peek().is_some(),
        "{what}: {path} is not a binary of the image {image:?}"
    );
    rows.find(|binary| (binary.accepts)(args))
        .unwrap_or_else(|| panic!("{what}: {path} {args:?} is not a command line it has"))
}

/// Checks a command line against the image's binaries and their command lines.
pub fn check_command(what: &str, image: Option<&str>, argv: &[&str]) {
    binary(what, image, argv);
}
