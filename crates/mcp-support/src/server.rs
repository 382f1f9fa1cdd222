//! The HTTP application of an MCP server and serving it: `/health`, the MCP
//! endpoint at `/mcp` and `/sse`, graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use app_support::{ExitStatus, Fatal};
use axum::Router;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::auth::{BearerToken, require_token};
use crate::handler::McpHandler;
use crate::identity::IdentityPolicy;
use crate::jsonrpc::{self, MAX_BODY_BYTES};
use crate::settings::ServerSettings;
use crate::tools::ToolSet;

/// The paths the MCP endpoint is served at: `/mcp`, and `/sse` for
/// toolgroups written for the Python servers.
pub const MCP_PATHS: [&str; 2] = ["/mcp", "/sse"];

/// What `/health` says besides `"status": "OK"` (e.g. the backend in use).
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub fields: serde_json::Map<String, Value>,
}

impl Health {
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }
}

/// The whole application of a server with `tools`. `stop` ends the MCP
/// transport's open streams at shutdown.
pub fn router<T: ToolSet>(
    settings: &ServerSettings,
    tools: Arc<T>,
    health: Health,
    stop: CancellationToken,
) -> Router {
    let handler = McpHandler::new(
        tools,
        IdentityPolicy {
            allow_any_employee: settings.allow_any_employee,
        },
    );
    // Stateless: every POST stands alone (LlamaStack opens a new MCP session
    // for each listing and each call anyway), so replicas need no shared
    // session store; answers are plain JSON, not event streams.
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(stop);
    config = if settings.allowed_hosts.is_empty() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(settings.allowed_hosts.clone())
    };
    let mcp = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let mut endpoint = Router::new();
    for path in MCP_PATHS {
        endpoint = endpoint.route_service(path, mcp.clone());
    }
    let mut endpoint = endpoint.layer(middleware::from_fn(jsonrpc::checked));
    if let Some(token) = &settings.auth_token {
        endpoint = endpoint.layer(middleware::from_fn_with_state(
            BearerToken::new(token),
            require_token,
        ));
    }
    let mut body = json!({"status": "OK"});
    if let Value::Object(object) = &mut body {
        object.extend(health.fields);
    }
    Router::new()
        .route(
            "/health",
            get(move || async move { axum::Json(body.clone()) }),
        )
        .merge(endpoint)
        .fallback(not_found)
        .layer(TraceLayer::new_for_http())
}

async fn not_found(request: axum::extract::Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({
            "error": "not_found",
            "detail": format!(
                "no route for {} {}; the MCP endpoint is at /mcp (and /sse)",
                request.method(),
                request.uri().path()
            ),
        })),
    )
        .into_response()
}

/// Binds `LISTEN_ADDR` and serves `tools` until SIGTERM or Ctrl-C.
pub async fn serve<T: ToolSet>(
    settings: ServerSettings,
    tools: Arc<T>,
    health: Health,
) -> Result<(), Fatal> {
    let listener = TcpListener::bind(settings.listen_addr)
        .await
        .map_err(|error| {
            Fatal::new(
                ExitStatus::Unavailable,
                format!("cannot listen on {}: {error}", settings.listen_addr),
            )
        })?;
    let address = listener.local_addr().unwrap_or(settings.listen_addr);
    tracing::info!(
        %address,
        server = tools.server_name(),
        paths = "/mcp, /sse",
        bearer_token = settings.auth_token.is_some(),
        help_desk_mode = settings.allow_any_employee,
        "MCP server listening"
    );
    let stop = CancellationToken::new();
    let app = router(&settings, tools, health, stop.clone());
    run_until(
        listener,
        app,
        shutdown_signal(),
        stop,
        settings.shutdown_timeout,
    )
    .await
    .map_err(|error| Fatal::new(ExitStatus::Failure, format!("server: {error}")))
}

/// Serves `app` until `shutdown` resolves; then stops accepting connections,
/// ends the MCP streams and gives in-flight calls `drain_timeout` to finish.
async fn run_until(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    stop: CancellationToken,
    drain_timeout: Duration,
) -> std::io::Result<()> {
    let stopping = stop.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!(
            drain_timeout_s = drain_timeout.as_secs(),
            "shutting down: no new connections, finishing in-flight calls"
        );
        stopping.cancel();
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let deadline = async move {
        stop.cancelled().await;
        tokio::time::sleep(drain_timeout).await;
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!("drain deadline passed; closing the remaining connections");
            Ok(())
        }
    }
}

/// Resolves on SIGTERM (Kubernetes) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
