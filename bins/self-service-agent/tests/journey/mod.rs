//! The laptop refresh journey against real parts: a real LlamaStack
//! (0.2.18, 0.7.3 or OGX 1.5.0: `test_support::llamastack::ServerVersion`)
//! whose model is the OpenAI stub playing a script
//! (`test_support::openai_stub::Script`), both MCP server binaries, an
//! asset directory whose knowledge bases `register-assets` registered, and
//! the service binary on a migrated test database.
//!
//! One [`World`] per server version (LlamaStack, the MCP servers each
//! behind a recording [`proxy::Proxy`], the registered directory) serves
//! every test of a test binary; the worlds of all versions start side by
//! side on first use. Each test opens a [`Desk`]: a service of its own,
//! on a copy of the world's directory that it may change. Tests of one
//! world take turns ([`World::turn`]): the stub's script is one for all.

#![allow(dead_code)] // each test file uses its own subset

pub mod assets;
mod binaries;
pub mod proxy;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};
use shared_clients::llamastack::{LlamaStackClient, LlamaStackConfig};
use test_support::llamastack::{RealLlamaStack, ServerVersion};
use test_support::mcp::{ServerProcess, call, run_client};
use test_support::openai_stub::{Answer, ChatRecord, OpenAiStub, Script, ToolCall, ToolResult};
use test_support::{TestDatabase, test_database};

use crate::common;
use proxy::{Proxy, RequestHead};

/// An MCP server binary behind a proxy that records what it was sent.
pub struct McpServer {
    pub process: ServerProcess,
    pub proxy: Proxy,
}

impl McpServer {
    fn start(package: &str, token: &str, extra: &[(&'static str, String)]) -> Self {
        let mut env: Vec<(&str, &str)> = vec![("MCP_AUTH_TOKEN", token)];
        env.extend(extra.iter().map(|(name, value)| (*name, value.as_str())));
        let process = ServerProcess::start(&binaries::binary(package), &env)
            .unwrap_or_else(|error| panic!("{package} starts: {error:#}"));
        let proxy = Proxy::to_url(process.base());
        Self { process, proxy }
    }

    /// Where LlamaStack reaches it: the proxy.
    pub fn base(&self) -> String {
        self.proxy.url()
    }
}

/// A LlamaStack server of one version, the two MCP servers, and an asset
/// directory pointed at them whose knowledge bases are registered.
pub struct World {
    pub version: ServerVersion,
    pub llama: &'static RealLlamaStack,
    pub employee_info: McpServer,
    pub snow: McpServer,
    /// The MCP servers' `MCP_AUTH_TOKEN`.
    pub token: String,
    /// The registered copy of the asset directory.
    assets: tempfile::TempDir,
    turns: tokio::sync::Mutex<()>,
}

/// The worlds of a test binary, one per server version, started on first
/// use: `Err` says why one could not start.
pub type Worlds = OnceLock<Vec<(ServerVersion, Result<World, String>)>>;

/// How a test binary sets up its worlds.
pub struct Setup {
    /// The server versions it tests.
    pub versions: &'static [ServerVersion],
    /// The asset directory it copies.
    pub source: fn() -> PathBuf,
    /// What it changes in the copy for a world (pointing the MCP servers'
    /// uris at the world's, say) before registering it.
    pub prepare: fn(&Path, &World),
    /// Settings of both MCP servers besides their token (a ServiceNow
    /// instance, say).
    pub mcp_env: fn() -> Vec<(&'static str, String)>,
}

/// No settings besides the token: the MCP servers' demo backend.
pub fn demo_backend() -> Vec<(&'static str, String)> {
    Vec::new()
}

/// The project's asset directory pointed at the world's MCP servers, on
/// every server version.
pub const PROJECT_ON_EVERY_SERVER: Setup = Setup {
    versions: &ServerVersion::ALL,
    source: project_assets,
    prepare: point_at_world,
    mcp_env: demo_backend,
};

impl World {
    /// The world of `version` among `worlds`, started with the other
    /// provisioned versions of `setup` on first use; `None` after a visible
    /// skip when `version` is not provisioned here.
    pub async fn get(
        worlds: &'static Worlds,
        setup: &'static Setup,
        version: ServerVersion,
        test: &str,
    ) -> Option<&'static World> {
        if !RealLlamaStack::available_or_skip(version, &format!("{test} on {version}")) {
            return None;
        }
        let all =
            tokio::task::spawn_blocking(move || worlds.get_or_init(|| Self::start_all(setup)))
                .await
                .unwrap();
        let (_, world) = all
            .iter()
            .find(|(started, _)| *started == version)
            .expect("every provisioned version is started");
        match world {
            Ok(world) => Some(world),
            Err(error) => panic!("the {version} world did not start: {error}"),
        }
    }

    /// Every provisioned version's world, side by side.
    fn start_all(setup: &Setup) -> Vec<(ServerVersion, Result<World, String>)> {
        let begun = Instant::now();
        let source = (setup.source)();
        let source = source.as_path();
        let prepare = setup.prepare;
        let mcp_env = (setup.mcp_env)();
        let mcp_env = mcp_env.as_slice();
        let versions: Vec<ServerVersion> = setup
            .versions
            .iter()
            .copied()
            .filter(|version| RealLlamaStack::available(*version))
            .collect();
        let worlds = std::thread::scope(|scope| {
            let starting: Vec<_> = versions
                .iter()
                .map(|version| {
                    scope.spawn(move || {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            Self::start(*version, source, prepare, mcp_env)
                        }))
                        .map_err(|panic| panic_text(&panic))
                    })
                })
                .collect();
            versions
                .iter()
                .zip(starting)
                .map(|(version, start)| {
                    let world = start
                        .join()
                        .unwrap_or_else(|_| Err("its start panicked".to_owned()));
                    (*version, world)
                })
                .collect::<Vec<_>>()
        });
        for (version, world) in &worlds {
            if let Ok(world) = world {
                common::report(&format!(
                    "{version}: started in {:.1} s",
                    world.llama.startup_time().as_secs_f64()
                ));
            }
        }
        common::report(&format!(
            "worlds of {} server versions ready in {:.1} s",
            worlds.len(),
            begun.elapsed().as_secs_f64()
        ));
        worlds
    }

    /// Starts the MCP servers, copies the asset directory `source`, lets
    /// `prepare` point it at this world, and registers it.
    fn start(
        version: ServerVersion,
        source: &Path,
        prepare: fn(&Path, &World),
        mcp_env: &[(&'static str, String)],
    ) -> Self {
        let llama = RealLlamaStack::shared(version).unwrap_or_else(|error| panic!("{error:#}"));
        let token = format!("mcp-{}", unique_suffix());
        let world = Self {
            version,
            llama,
            employee_info: McpServer::start("mcp-employee-info", &token, mcp_env),
            snow: McpServer::start("mcp-snow", &token, mcp_env),
            token,
            assets: assets::copy_of(source),
            turns: tokio::sync::Mutex::new(()),
        };
        prepare(world.assets.path(), &world);
        register(llama.url(), world.assets.path())
            .unwrap_or_else(|said| panic!("register-assets failed on {version}: {said}"));
        world
    }

    /// The base URL of the MCP server of toolgroup `name` (`employee-info`
    /// or `snow`), as LlamaStack reaches it.
    pub fn mcp_base(&self, name: &str) -> String {
        self.mcp(name).base()
    }

    pub fn mcp(&self, name: &str) -> &McpServer {
        match name {
            "employee-info" => &self.employee_info,
            "snow" => &self.snow,
            other => panic!("no MCP server for toolgroup {other}"),
        }
    }

    pub fn stub(&self) -> &OpenAiStub {
        self.llama.stub()
    }

    /// The registered asset directory.
    pub fn assets(&self) -> &Path {
        self.assets.path()
    }

    /// This test's turn on the world: the stub plays `script` until the
    /// turn ends (then the default again, at full speed).
    pub async fn turn(&self, script: Script) -> Turn<'_> {
        let guard = self.turns.lock().await;
        self.stub().set_script(script);
        Turn {
            world: self,
            _guard: guard,
            marks: Marks::of(self),
        }
    }

    /// Runs `register-assets` on the world's directory against `url` (the
    /// world's server, or another).
    pub fn register_on(&self, url: &str) -> Result<(), String> {
        register(url, self.assets.path())
    }

    /// Deletes the vector stores `register-assets` made for the knowledge
    /// base `name` on the world's server, behind every service's back; how
    /// many there were.
    pub async fn delete_vector_stores_of(&self, name: &str) -> usize {
        let client =
            LlamaStackClient::new(LlamaStackConfig::for_url(self.llama.url()).unwrap()).unwrap();
        let stores = client.list_vector_stores().await.unwrap();
        let mut deleted = 0;
        for store in stores {
            if store.metadata.get("knowledge_base").and_then(Value::as_str) == Some(name) {
                client.delete_vector_store(&store.id).await.unwrap();
                deleted += 1;
            }
        }
        deleted
    }

    /// A service of its own on this world.
    pub fn desk(&self) -> DeskBuilder<'_> {
        DeskBuilder {
            world: self,
            token: self.token.clone(),
            llama_url: self.llama.url().to_owned(),
            prepare: None,
            env: Vec::new(),
        }
    }

    /// What the snow server lists as `user`'s open tickets (through the
    /// official Python MCP client, as the user).
    pub fn open_tickets(&self, python: &Path, user: &str) -> String {
        let bearer = format!("Bearer {}", self.token);
        let entries = run_client(
            python,
            &self.snow.process.url("/mcp"),
            &[("AUTHORITATIVE_USER_ID", user), ("Authorization", &bearer)],
            &[call("get_laptop_refresh_tickets", json!({}))],
        )
        .unwrap();
        assert_eq!(entries[0]["isError"], false, "{entries:?}");
        entries[0]["text"].as_str().unwrap().to_owned()
    }
}

/// Where the world's records stood when a step began.
#[derive(Debug, Clone, Copy)]
struct Marks {
    chats: usize,
    chat_requests: usize,
    employee_info: usize,
    snow: usize,
}

impl Marks {
    fn of(world: &World) -> Self {
        Self {
            chats: world.stub().chats().len(),
            chat_requests: world.stub().chat_requests().len(),
            employee_info: world.employee_info.proxy.request_count(),
            snow: world.snow.proxy.request_count(),
        }
    }
}

/// A test's turn on a world: what the stub and the MCP servers saw since
/// it began (or since [`Turn::mark`]).
pub struct Turn<'w> {
    world: &'w World,
    _guard: tokio::sync::MutexGuard<'w, ()>,
    marks: Marks,
}

impl Turn<'_> {
    /// From now on: what follows is what the records show.
    pub fn mark(&mut self) {
        self.marks = Marks::of(self.world);
    }

    /// What the stub's model saw and answered since the mark.
    pub fn seen(&self) -> Seen {
        let stub = self.world.stub();
        let mcp = |server: &McpServer, mark: usize| server.proxy.requests().split_off(mark);
        Seen {
            chats: stub.chats().split_off(self.marks.chats),
            chat_requests: stub.chat_requests().split_off(self.marks.chat_requests),
            employee_info: mcp(&self.world.employee_info, self.marks.employee_info),
            snow: mcp(&self.world.snow, self.marks.snow),
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let stub = self.world.stub();
        stub.set_script(Script::default());
        stub.set_token_delay(Duration::ZERO);
    }
}

/// What the model and the MCP servers saw during a step.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The chat completions, as the stub saw and answered them.
    pub chats: Vec<ChatRecord>,
    /// Their request bodies (`messages`, `tools`).
    pub chat_requests: Vec<Value>,
    /// The heads of the requests each MCP server received.
    pub employee_info: Vec<RequestHead>,
    pub snow: Vec<RequestHead>,
}

impl Seen {
    /// The results of `tool` the model received.
    pub fn results_of(&self, tool: &str) -> Vec<&ToolResult> {
        self.chats
            .iter()
            .flat_map(|chat| &chat.tool_results)
            .filter(|result| result.tool == tool)
            .collect()
    }

    /// The calls of `tool` the model made.
    pub fn calls_of(&self, tool: &str) -> Vec<&ToolCall> {
        self.chats
            .iter()
            .filter_map(|chat| match &chat.answer {
                Answer::ToolCalls(calls) => Some(calls),
                Answer::Text(_) => None,
            })
            .flatten()
            .filter(|call| call.name == tool)
            .collect()
    }

    /// The one result of `tool`, or a failure saying what the model got.
    pub fn only_result_of(&self, tool: &str) -> &ToolResult {
        match self.results_of(tool).as_slice() {
            [result] => result,
            other => panic!(
                "expected one result of {tool}, got {other:?}; chats: {:#?}",
                self.chats
            ),
        }
    }

    /// The tools offered in the first completion that offered `tool`,
    /// sorted.
    pub fn offered_with(&self, tool: &str) -> Vec<String> {
        let mut offered = self
            .chats
            .iter()
            .map(|chat| chat.tools_offered.clone())
            .find(|tools| tools.iter().any(|offered| offered == tool))
            .unwrap_or_else(|| panic!("no completion offered {tool}: {:#?}", self.chats));
        offered.sort();
        offered
    }

    /// The messages of every completion, as text (role: content), one
    /// list per completion.
    pub fn conversations(&self) -> Vec<Vec<String>> {
        self.chat_requests
            .iter()
            .map(|request| {
                request["messages"]
                    .as_array()
                    .map(|messages| messages.iter().map(message_text).collect())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The system messages of every completion.
    pub fn system_messages(&self) -> Vec<String> {
        self.conversations()
            .into_iter()
            .flatten()
            .filter_map(|line| line.strip_prefix("system: ").map(str::to_owned))
            .collect()
    }

    /// Both MCP servers' requests.
    pub fn mcp_requests(&self) -> impl Iterator<Item = (&'static str, &RequestHead)> {
        self.employee_info
            .iter()
            .map(|head| ("employee-info", head))
            .chain(self.snow.iter().map(|head| ("snow", head)))
    }
}

/// `role: content` of a chat message (content parts joined; tool calls
/// as `call <name>`).
fn message_text(message: &Value) -> String {
    let role = message["role"].as_str().unwrap_or("?");
    let content = match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    };
    let calls: Vec<String> = message["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .filter_map(|call| call["function"]["name"].as_str())
                .map(|name| format!("call {name}"))
                .collect()
        })
        .unwrap_or_default();
    if calls.is_empty() {
        format!("{role}: {content}")
    } else {
        format!("{role}: {content}{}", calls.join(", "))
    }
}

/// A change to a service's copy of the asset directory.
type EditAssets<'w> = Box<dyn FnOnce(&Path) + Send + 'w>;

/// How a [`Desk`] is set up.
pub struct DeskBuilder<'w> {
    world: &'w World,
    token: String,
    llama_url: String,
    prepare: Option<EditAssets<'w>>,
    env: Vec<(&'static str, String)>,
}

impl<'w> DeskBuilder<'w> {
    /// The service's `MCP_AUTH_TOKEN` (default: the MCP servers').
    pub fn token(mut self, token: &str) -> Self {
        self.token = token.to_owned();
        self
    }

    /// Where the service reaches LlamaStack (default: the world's server).
    pub fn llama_url(mut self, url: &str) -> Self {
        self.llama_url = url.to_owned();
        self
    }

    /// Changes the service's copy of the asset directory before it starts.
    pub fn assets(mut self, prepare: impl FnOnce(&Path) + Send + 'w) -> Self {
        self.prepare = Some(Box::new(prepare));
        self
    }

    /// One more setting.
    pub fn env(mut self, name: &'static str, value: &str) -> Self {
        self.env.push((name, value.to_owned()));
        self
    }

    pub async fn open(self) -> Desk {
        let assets = assets::copy_of(self.world.assets());
        if let Some(prepare) = self.prepare {
            prepare(assets.path());
        }
        let db = test_database().await.unwrap();
        common::migrate(&db.url()).await;
        let mut env = common::base_env(&db, &self.llama_url, assets.path(), common::port());
        env.push(("MCP_AUTH_TOKEN", self.token));
        env.extend(self.env);
        let service = common::spawn(&env).await;
        Desk {
            service,
            db,
            assets,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(180))
                .build()
                .unwrap(),
        }
    }
}

/// A service of a test's own on a world, with its database and its copy
/// of the asset directory.
pub struct Desk {
    pub service: common::Service,
    pub db: TestDatabase,
    assets: tempfile::TempDir,
    http: reqwest::Client,
}

/// One request to the service and what it stored.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The status of `POST /api/v1/requests/generic/sync`.
    pub status: u16,
    /// Its body.
    pub answer: Value,
    /// `GET /api/v1/requests/{id}` afterwards.
    pub stored: Value,
    /// From the request to its answer.
    pub took: Duration,
}

impl Exchange {
    /// The answer's text.
    pub fn content(&self) -> &str {
        self.answer["response"]["content"]
            .as_str()
            .unwrap_or_default()
    }

    pub fn session_id(&self) -> &str {
        self.answer["session_id"].as_str().unwrap_or_default()
    }

    /// The stored failure reason.
    pub fn error(&self) -> &str {
        self.stored["error"].as_str().unwrap_or_default()
    }

    /// Asserts the request was answered, saying what was stored if not.
    pub fn assert_completed(&self) {
        assert_eq!(
            (self.status, self.stored["status"].as_str()),
            (200, Some("completed")),
            "{:#}\nstored: {:#}",
            self.answer,
            self.stored
        );
    }

    /// Asserts the request failed and was stored failed; the reason.
    pub fn assert_failed(&self) -> &str {
        assert_eq!(self.status, 502, "{:#}", self.answer);
        assert_eq!(self.answer["error"], "agent_failed", "{:#}", self.answer);
        assert_eq!(self.stored["status"], "failed", "{:#}", self.stored);
        self.error()
    }
}

impl Desk {
    /// `user` says `message` (`generic/sync`, channel CLI).
    pub async fn ask(&self, user: &str, message: &str) -> Exchange {
        let started = Instant::now();
        let response = common::sync(&self.http, &self.service, user, message).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        let took = started.elapsed();
        let stored = match answer["request_id"].as_str() {
            Some(id) => self
                .http
                .get(self.service.url(&format!("/api/v1/requests/{id}")))
                .header("x-user-id", user)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap(),
            None => Value::Null,
        };
        Exchange {
            status,
            answer,
            stored,
            took,
        }
    }

    /// The service's copy of the asset directory (it reloads what changes).
    pub fn assets(&self) -> &Path {
        self.assets.path()
    }

    /// Waits until the service has put a changed asset directory in force.
    pub async fn until_reloaded(&self, reloads_before: usize) {
        let started = Instant::now();
        while self.reloads() <= reloads_before {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the change was not loaded within 20 s: {}",
                self.service.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many times the service said it put new agents in force.
    pub fn reloads(&self) -> usize {
        self.service
            .logs()
            .lines()
            .filter(|line| line.contains("asset directory reloaded"))
            .count()
    }

    /// The session's row: `conversation_context`.
    pub async fn conversation_context(&self, session_id: &str) -> Value {
        let conn = common::connect(&self.db).await;
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                "SELECT conversation_context FROM request_sessions WHERE session_id = $1",
                [session_id.into()],
            ))
            .await
            .unwrap()
            .expect("the session's row");
        row.try_get_by_index::<Option<Value>>(0)
            .unwrap()
            .unwrap_or(Value::Null)
    }

    /// Sets the session's response chain of `agent` to `response_id` (an
    /// operator's edit, or a row restored from an older backup).
    pub async fn set_chain(&self, session_id: &str, agent: &str, response_id: &str) {
        let conn = common::connect(&self.db).await;
        conn.execute_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "UPDATE request_sessions SET conversation_context = \
               jsonb_set(conversation_context::jsonb, ARRAY['responses', $2], to_jsonb($3::text))::json \
             WHERE session_id = $1",
            [session_id.into(), agent.into(), response_id.into()],
        ))
        .await
        .unwrap();
    }
}

/// The panic message of a caught panic.
pub fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "it panicked".to_owned())
}

/// Runs `step` once per test process (a journey), for the tests that each
/// check one thing of it; a failed run fails each of them with its message.
pub async fn once<T: Send + Sync + 'static>(
    cell: &'static tokio::sync::OnceCell<Result<T, String>>,
    step: impl std::future::Future<Output = T> + Send + 'static,
) -> &'static T {
    let outcome = cell
        .get_or_init(|| async {
            tokio::spawn(step)
                .await
                .map_err(|error| match error.try_into_panic() {
                    Ok(panic) => panic_text(&panic),
                    Err(error) => error.to_string(),
                })
        })
        .await;
    match outcome {
        Ok(outcome) => outcome,
        Err(error) => panic!("shared setup failed: {error}"),
    }
}

/// An employee of the demo directory (`assets/mcp/employees.json`).
#[derive(Debug, Clone)]
pub struct Employee {
    pub id: String,
    pub name: String,
    pub email: String,
    pub location: String,
}

pub fn employee(id: &str) -> Employee {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/mcp/employees.json");
    let all: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let found = all
        .iter()
        .find(|employee| employee["employee_id"] == id)
        .unwrap_or_else(|| panic!("no employee {id} in assets/mcp/employees.json"));
    let text = |key: &str| found[key].as_str().unwrap_or_default().to_owned();
    Employee {
        id: text("employee_id"),
        name: text("name"),
        email: text("email"),
        location: text("location"),
    }
}

/// The `Ticket Number:` of a snow tool answer.
pub fn ticket_number(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|line| line.strip_prefix("Ticket Number:"))
        .map(str::trim)
}

/// The project's own asset directory.
pub fn project_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/config")
}

/// Points the project's MCP servers at the world's (their `/mcp`).
pub fn point_at_world(dir: &Path, world: &World) {
    assets::point_toolgroups_at(dir, |name| world.mcp_base(name), Some("/mcp"));
}

/// Runs `register-assets` on `dir` against `llama_url`: `Err` with its
/// output unless it succeeds.
fn register(llama_url: &str, dir: &Path) -> Result<(), String> {
    let output = std::process::Command::new(binaries::binary("register-assets"))
        .env("ASSET_CONFIG_DIR", dir)
        .env("LLAMA_STACK_URL", llama_url)
        .env("LLAMA_STACK_WAIT_TIMEOUT", "60")
        .env("RUST_LOG", "info")
        .env_remove("LLAMASTACK_SERVICE_HOST")
        .env_remove("LLAMA_STACK_API_KEY")
        .env_remove("LLAMA_STACK_API_BASE")
        .env_remove("LOG_FORMAT")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| error.to_string())?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(said)
    }
}

/// Unique enough for a token of one test process.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{}", std::process::id())
}

/// One test per server version of each of the functions named (`async fn
/// name(version: ServerVersion, test: &'static str)`, given its version
/// and its name): a module per function, `name::on_0_2_18`, `name::on_0_7_3`
/// and `name::on_ogx_1_5`. Named so, the versions of a test come one after
/// the other in the harness's order, and two test threads run two
/// versions (two servers) at once rather than two tests waiting for one.
#[macro_export]
macro_rules! on_every_server {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[tokio::test]
                async fn on_0_2_18() {
                    super::$test(
                        test_support::llamastack::ServerVersion::V0_2_18,
                        stringify!($test),
                    )
                    .await;
                }

                #[tokio::test]
                async fn on_0_7_3() {
                    super::$test(
                        test_support::llamastack::ServerVersion::V0_7_3,
                        stringify!($test),
                    )
                    .await;
                }

                #[tokio::test]
                async fn on_ogx_1_5() {
                    super::$test(
                        test_support::llamastack::ServerVersion::Ogx1_5,
                        stringify!($test),
                    )
                    .await;
                }
            }
        )*
    };
}

/// One value per server version, for what a test binary runs once per
/// version and several tests check (a journey).
pub type PerServer<T> = [tokio::sync::OnceCell<Result<T, String>>; 3];

/// An empty [`PerServer`].
pub const fn per_server<T>() -> PerServer<T> {
    [const { tokio::sync::OnceCell::const_new() }; 3]
}

/// The cell of `version` in `cells`.
pub fn cell_of<T>(
    cells: &'static PerServer<T>,
    version: ServerVersion,
) -> &'static tokio::sync::OnceCell<Result<T, String>> {
    let at = ServerVersion::ALL
        .iter()
        .position(|known| *known == version)
        .expect("a known version");
    &cells[at]
}
