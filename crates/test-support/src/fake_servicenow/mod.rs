//! A stateful fake ServiceNow instance for the ServiceNow backend's tests,
//! built from ServiceNow's REST API documentation (what is relied on is
//! listed in `docs/mcp-servers.md`):
//!
//! - Table API `GET /api/now/table/{table}` for `sys_user`,
//!   `cmdb_ci_computer`, `sc_req_item`: `{"result": [...]}`, filtered by
//!   `sysparm_query`, cut to `sysparm_limit`, projected to `sysparm_fields`;
//!   references shown as their display value with
//!   `sysparm_display_value=true`, else as their sys_id. `sys_user` and
//!   `cmdb_ci_computer` know only the query forms the Python system's mock
//!   ServiceNow knows (`email=<email>` or `employee_number=<id>`;
//!   `assigned_to=<sys_id>`, one term each) and, like the mock, answer an
//!   empty list to any other (a `^OR`, an `ORDERBY`); `sc_req_item` takes
//!   encoded queries as an instance does (`field=value` terms joined by `^`,
//!   `^OR` alternatives, `ORDERBY`/`ORDERBYDESC` terms). Records come in the
//!   order they were stored, so a client must sort them itself;
//! - Service Catalog `POST /api/sn_sc/servicecatalog/items/{sys_id}/order_now`
//!   with `{"sysparm_quantity", "variables": {...}}`: creates a request and
//!   its requested item, answers `{"result": {"sys_id", "number",
//!   "request_number", "request_id", "table": "sc_request"}}`;
//! - credentials: the API key [`API_KEY`] in `x-sn-apikey`, or basic auth
//!   [`USERNAME`]/[`PASSWORD`]; none or wrong: 401 `{"error": {"message": "User Not
//!   Authenticated", "detail": "Required to provide Auth information"},
//!   "status": "failure"}`.
//!
//! It records every call and can be told to fail the next ones (a status,
//! or a delay longer than the client's timeout). [`python_mock`] runs the
//! Python system's own mock ServiceNow.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::thread_server::ThreadServer;
use query::{project, raw, selects};

pub mod python_mock;
mod query;

/// The API key the fake accepts, in the `x-sn-apikey` header.
pub const API_KEY: &str = "fake-sn-api-key-7c9d2e";
/// The basic-auth user and password the fake accepts.
pub const USERNAME: &str = "mcp.integration";
pub const PASSWORD: &str = "fake-sn-password-41b7";
/// The laptop refresh catalog item's sys_id.
pub const LAPTOP_REFRESH_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Value,
}

#[derive(Debug, Clone, Copy)]
enum Injected {
    Status(StatusCode),
    Delay(Duration),
}

#[derive(Debug, Default)]
struct Records {
    tables: HashMap<String, Vec<Map<String, Value>>>,
    calls: Vec<Call>,
    failures: VecDeque<Injected>,
    orders: usize,
}

type Shared = Arc<Mutex<Records>>;

/// The fake, on a free port of 127.0.0.1, with two users: `1001` Alice
/// Johnson (EMEA, a Dell Latitude 7420 of 2021, and listed before it her
/// former Latitude 5490 of 2017) and `1002` Bob Martinez (Americas, a
/// ThinkPad T14 of 2022).
pub struct FakeServiceNow {
    server: ThreadServer,
    records: Shared,
}

impl FakeServiceNow {
    pub fn start() -> Result<Self> {
        let records = Shared::default();
        seed(&mut records.lock().unwrap_or_else(|p| p.into_inner()));
        let app = Router::new()
            .route("/api/now/table/{table}", get(table))
            .route(
                "/api/sn_sc/servicecatalog/items/{item}/order_now",
                post(order_now),
            )
            .with_state(Arc::clone(&records));
        let server = ThreadServer::start("fake-servicenow", |_| app)?;
        Ok(Self { server, records })
    }

    /// `http://127.0.0.1:<port>`, the `SERVICENOW_INSTANCE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The calls received so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The requested items (`sc_req_item`) as stored.
    pub fn requested_items(&self) -> Vec<Map<String, Value>> {
        self.lock()
            .tables
            .get("sc_req_item")
            .cloned()
            .unwrap_or_default()
    }

    /// The next `times` requests are answered `status` (with an error body).
    pub fn fail_next(&self, status: u16, times: usize) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut records = self.lock();
        records
            .failures
            .extend(std::iter::repeat_n(Injected::Status(status), times));
    }

    /// The next `times` requests are answered only after `delay`.
    pub fn delay_next(&self, delay: Duration, times: usize) {
        let mut records = self.lock();
        records
            .failures
            .extend(std::iter::repeat_n(Injected::Delay(delay), times));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn reference(sys_id: &str, display: &str) -> Value {
    json!({"value": sys_id, "display_value": display})
}

fn record(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn seed(records: &mut Records) {
    records.tables.insert("sc_req_item".into(), Vec::new());
    let users = [
        (
            "6816f79cc0a8016401c5a33be04be441",
            "Alice Johnson",
            "alice.johnson@example.com",
            "1001",
            "EMEA",
        ),
        (
            "7a2b0c5e1b3f4d2a9e8f7c6b5a4d3e21",
            "Bob Martinez",
            "bob.martinez@example.com",
            "1002",
            "Americas",
        ),
    ];
    for (sys_id, name, email, number, location) in users {
        records
            .tables
            .entry("sys_user".into())
            .or_default()
            .push(record(json!({
                "sys_id": sys_id, "name": name, "email": email, "employee_number": number,
                "user_name": email.split('@').next().unwrap_or(name), "active": "true",
                "location": reference(&format!("loc-{location}"), location),
            })));
    }
    let computers = [
        (
            "c0ffee0000000000000000000000a000",
            "6816f79cc0a8016401c5a33be04be441",
            "Alice Johnson",
            "Dell Latitude 5490",
            "DL5490-11872",
            "2017-09-04",
            "2020-09-04",
        ),
        (
            "c0ffee0000000000000000000000a001",
            "6816f79cc0a8016401c5a33be04be441",
            "Alice Johnson",
            "Dell Latitude 7420",
            "DL7420-58231",
            "2021-03-15",
            "2024-03-15",
        ),
        (
            "c0ffee0000000000000000000000b002",
            "7a2b0c5e1b3f4d2a9e8f7c6b5a4d3e21",
            "Bob Martinez",
            "Lenovo ThinkPad T14 Gen 2",
            "PF2T14-90417",
            "2022-06-01",
            "2027-06-01",
        ),
    ];
    for (sys_id, owner, owner_name, model, serial, purchased, warranty) in computers {
        records
            .tables
            .entry("cmdb_ci_computer".into())
            .or_default()
            .push(record(json!({
                "sys_id": sys_id, "name": format!("LAPTOP-{serial}"), "serial_number": serial,
                "asset_tag": format!("P{}", &sys_id[28..]),
                "model_id": reference(&format!("model-{serial}"), model),
                "assigned_to": reference(owner, owner_name),
                "purchase_date": purchased, "warranty_expiration": warranty,
                "install_status": "1", "operational_status": "1",
            })));
    }
}

fn authenticated(headers: &HeaderMap) -> bool {
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"))
    );
    headers
        .get("x-sn-apikey")
        .is_some_and(|value| value.as_bytes() == API_KEY.as_bytes())
        || headers
            .get("authorization")
            .is_some_and(|value| value.as_bytes() == basic.as_bytes())
}

fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({
            "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
            "status": "failure",
        })),
    )
        .into_response()
}

/// Records the call, then applies an injected failure or the credentials
/// check; `Some` is the answer to give instead of the real one.
async fn gate(records: &Shared, call: Call, headers: &HeaderMap) -> Option<Response> {
    let injected = {
        let mut records = records.lock().unwrap_or_else(|p| p.into_inner());
        records.calls.push(call);
        records.failures.pop_front()
    };
    match injected {
        Some(Injected::Status(status)) => Some(
            (
                status,
                axum::Json(json!({"error": {"message": "injected failure", "detail": ""}, "status": "failure"})),
            )
                .into_response(),
        ),
        Some(Injected::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        None => None,
    }
    .or_else(|| (!authenticated(headers)).then(unauthenticated))
}

async fn table(
    State(records): State<Shared>,
    Path(table): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let call = Call {
        method: Method::GET,
        path: format!("/api/now/table/{table}"),
        query: query.clone(),
        body: Value::Null,
    };
    if let Some(refusal) = gate(&records, call, &headers).await {
        return refusal;
    }
    let records = records.lock().unwrap_or_else(|p| p.into_inner());
    let Some(rows) = records.tables.get(&table) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "Invalid table", "detail": table}, "status": "failure"})),
        )
            .into_response();
    };
    let filter = query
        .get("sysparm_query")
        .map(String::as_str)
        .unwrap_or_default();
    let display = query
        .get("sysparm_display_value")
        .is_some_and(|v| v == "true");
    let limit = query
        .get("sysparm_limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10_000);
    let fields: Option<Vec<&str>> = query
        .get("sysparm_fields")
        .map(|fields| fields.split(',').map(str::trim).collect());
    let result: Vec<Value> = rows
        .iter()
        .filter(|row| selects(&table, row, filter))
        .take(limit)
        .map(|row| project(row, fields.as_deref(), display))
        .collect();
    axum::Json(json!({"result": result})).into_response()
}

async fn order_now(
    State(records): State<Shared>,
    Path(item): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let call = Call {
        method: Method::POST,
        path: format!("/api/sn_sc/servicecatalog/items/{item}/order_now"),
        query: HashMap::new(),
        body: body.clone(),
    };
    if let Some(refusal) = gate(&records, call, &headers).await {
        return refusal;
    }
    if item != LAPTOP_REFRESH_ID {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "Catalog item not found", "detail": item}, "status": "failure"})),
        )
            .into_response();
    }
    let mut records = records.lock().unwrap_or_else(|p| p.into_inner());
    records.orders += 1;
    let n = records.orders;
    let request_number = format!("REQ{:07}", 10_000 + n);
    let request_id = format!("{n:0>32}");
    let requested_for = body["sysparm_requested_for"]
        .as_str()
        .or_else(|| body["variables"]["who_is_this_request_for"].as_str())
        .unwrap_or_default()
        .to_owned();
    let who = records
        .tables
        .get("sys_user")
        .and_then(|users| {
            users
                .iter()
                .find(|u| u.get("sys_id").map(raw).as_deref() == Some(&requested_for))
        })
        .and_then(|u| u.get("name").map(raw))
        .unwrap_or_default();
    records.tables.entry("sc_req_item".into()).or_default().push(record(json!({
        "sys_id": format!("{n:f>32}"),
        "number": format!("RITM{:07}", 10_000 + n),
        "request": reference(&request_id, &request_number),
        "cat_item": reference(LAPTOP_REFRESH_ID, "Laptop Refresh"),
        "requested_for": reference(&requested_for, &who),
        "state": {"value": "1", "display_value": "Open"},
        "active": "true",
        "priority": {"value": "4", "display_value": "4 - Low"},
        "opened_at": "2026-12-01 09:30:00",
        "due_date": "2026-12-08 09:30:00",
        "assignment_group": reference("grp-hw", "Hardware Asset Management"),
        "variables.laptop_choices": body["variables"]["laptop_choices"].clone(),
        "variables.who_is_this_request_for": body["variables"]["who_is_this_request_for"].clone(),
    })));
    axum::Json(json!({"result": {
        "sys_id": request_id, "number": request_number, "request_number": request_number,
        "request_id": request_id, "table": "sc_request",
    }}))
    .into_response()
}
