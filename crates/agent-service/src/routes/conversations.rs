//! `GET /api/v1/conversations`: past sessions with their messages, filtered
//! as the Python request manager's clients filter them (evaluation suites
//! export from it). Users see their own sessions; the users of
//! `ADMIN_USERS` see everyone's. Every filter is applied in the query, so
//! `total` counts exactly the sessions the pages hold.

use std::collections::{HashMap, HashSet};

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use sea_orm::{DbBackend, FromQueryResult, Statement, Value as DbValue};
use serde_json::Value;
use shared_clients::request_api::{Conversation, ConversationMessage, ConversationsPage};
use shared_db::entities::IntegrationType;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/conversations", get(list))
}

/// Sessions per page when `limit` is not given (or is below 1).
const DEFAULT_LIMIT: u64 = 100;
/// The most sessions one page holds.
const MAX_LIMIT: u64 = 1000;
/// The longest query string read.
const MAX_QUERY_LEN: usize = 8 * 1024;
/// The longest value of a text filter (a session id, a user, an agent).
const MAX_FILTER_LEN: usize = 255;

/// The filters, as parsed from the query string.
#[derive(Debug, Default)]
struct Filters {
    session_id: Option<String>,
    user_id: Option<String>,
    user_email: Option<String>,
    integration_type: Option<IntegrationType>,
    integration_types: Vec<IntegrationType>,
    agent_id: Option<String>,
    start_date: Option<DateTime<FixedOffset>>,
    end_date: Option<DateTime<FixedOffset>>,
    limit: u64,
    offset: u64,
    random: bool,
    include_messages: bool,
}

impl Filters {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let query = query.unwrap_or_default();
        if query.len() > MAX_QUERY_LEN {
            return Err(ApiError::BadRequest(format!(
                "the query string is longer than {MAX_QUERY_LEN} bytes"
            )));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|error| ApiError::BadRequest(format!("the query string: {error}")))?;
        let mut filters = Filters {
            limit: DEFAULT_LIMIT,
            include_messages: true,
            ..Filters::default()
        };
        let mut seen: HashSet<String> = HashSet::new();
        for (name, value) in pairs {
            if name != "integration_types" && !seen.insert(name.clone()) {
                return Err(ApiError::BadRequest(format!("{name}: given twice")));
            }
            match name.as_str() {
                "session_id" => filters.session_id = Some(text(&name, value)?),
                "user_id" => filters.user_id = Some(text(&name, value)?),
                "user_email" => filters.user_email = Some(text(&name, value)?),
                "agent_id" => filters.agent_id = Some(text(&name, value)?),
                "integration_type" => {
                    filters.integration_type = Some(integration_type(&name, &value)?)
                }
                "integration_types" => {
                    // Repeated, or comma-separated (`CLI,SLACK`); blanks skipped.
                    for item in value.split(',').filter(|item| !item.trim().is_empty()) {
                        let kind = integration_type(&name, item)?;
                        if !filters.integration_types.contains(&kind) {
                            filters.integration_types.push(kind);
                        }
                    }
                }
                "start_date" => filters.start_date = Some(date(&name, &value)?),
                "end_date" => filters.end_date = Some(date(&name, &value)?),
                "limit" => {
                    let limit: i64 = number(&name, &value)?;
                    filters.limit = if limit < 1 {
                        DEFAULT_LIMIT
                    } else {
                        (limit as u64).min(MAX_LIMIT)
                    };
                }
                "offset" => {
                    let offset: i64 = number(&name, &value)?;
                    filters.offset = u64::try_from(offset)
                        .map_err(|_| ApiError::BadRequest("offset: must not be negative".into()))?;
                }
                "random" => filters.random = boolean(&name, &value)?,
                "include_messages" => filters.include_messages = boolean(&name, &value)?,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "{}: unknown filter; expected session_id, user_id, user_email, integration_type, integration_types, agent_id, start_date, end_date, limit, offset, random, include_messages",
                        other.chars().take(64).collect::<String>()
                    )));
                }
            }
        }
        Ok(filters)
    }
}

fn text(name: &str, value: String) -> Result<String, ApiError> {
    let value = value.trim().to_owned();
    if value.is_empty() || value.chars().count() > MAX_FILTER_LEN || value.contains('\0') {
        return Err(ApiError::BadRequest(format!(
            "{name}: must be 1 to {MAX_FILTER_LEN} characters"
        )));
    }
    Ok(value)
}

fn integration_type(name: &str, value: &str) -> Result<IntegrationType, ApiError> {
    let upper = value.trim().to_ascii_uppercase();
    serde_json::from_value(Value::String(upper)).map_err(|_| {
        ApiError::BadRequest(format!(
            "{name}: '{}' is not a channel; expected one of SLACK, WEB, CLI, TOOL, EMAIL, SMS, WEBHOOK, TEAMS, DISCORD, TEST",
            value.chars().take(64).collect::<String>()
        ))
    })
}

fn number(name: &str, value: &str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{name}: must be a whole number")))
}

/// As FastAPI reads a boolean query parameter.
fn boolean(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "{name}: must be true or false"
        ))),
    }
}

/// An ISO 8601 date-time (`2026-01-01T00:00:00Z`, with an offset; without
/// one it is UTC) or a date (its midnight, UTC).
fn date(name: &str, value: &str) -> Result<DateTime<FixedOffset>, ApiError> {
    let value = value.trim();
    let utc = FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("0 is a valid offset"));
    DateTime::parse_from_rfc3339(value)
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
                .or_else(|| {
                    NaiveDate::parse_from_str(value, "%Y-%m-%d")
                        .ok()
                        .and_then(|day| day.and_hms_opt(0, 0, 0))
                })
                .map(|naive| naive.and_utc().with_timezone(&utc))
        })
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{name}: not an ISO 8601 date-time (e.g. 2026-01-01T00:00:00Z)"
            ))
        })
}

/// The sessions the caller may read: their own, or everyone's for an admin.
/// A user naming another user is refused.
fn scope(
    state: &AppState,
    caller: &Identity,
    filters: &Filters,
) -> Result<Option<String>, ApiError> {
    let admin = state
        .config
        .admin_users
        .iter()
        .any(|admin| admin == caller.as_str());
    if admin {
        return Ok(None);
    }
    if let Some(user) = &filters.user_id
        && user != caller.as_str()
    {
        return Err(ApiError::Forbidden(
            "user_id: only your own conversations (or, for an administrator, ADMIN_USERS, anyone's)"
                .into(),
        ));
    }
    Ok(Some(caller.as_str().to_owned()))
}

/// A session row with what the page shows of it.
#[derive(Debug, FromQueryResult)]
struct SessionRow {
    session_id: String,
    user_id: String,
    user_email: Option<String>,
    integration_type: String,
    status: String,
    created_at: DateTime<FixedOffset>,
    last_request_at: Option<DateTime<FixedOffset>>,
    total_requests: i32,
    current_agent_id: Option<String>,
    current_thread_id: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct MessageRow {
    session_id: String,
    request_id: String,
    created_at: DateTime<FixedOffset>,
    integration_type: String,
    request_content: String,
    response_content: Option<String>,
    agent_id: Option<String>,
    processing_time_ms: Option<i32>,
    completed_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, FromQueryResult)]
struct Total {
    total: i64,
}

/// The `WHERE` clause of the filters, with its values (`$1`, `$2`, …).
fn conditions(filters: &Filters, only_user: Option<&str>) -> (String, Vec<DbValue>) {
    let mut clauses = Vec::new();
    let mut values: Vec<DbValue> = Vec::new();
    let mut bind = |value: DbValue| {
        values.push(value);
        format!("${}", values.len())
    };
    if let Some(user) = only_user {
        clauses.push(format!("s.user_id = {}", bind(user.into())));
    }
    if let Some(session_id) = &filters.session_id {
        clauses.push(format!(
            "s.session_id = {}",
            bind(session_id.as_str().into())
        ));
    }
    if let Some(user) = &filters.user_id {
        clauses.push(format!("s.user_id = {}", bind(user.as_str().into())));
    }
    if let Some(email) = &filters.user_email {
        let email = bind(email.to_lowercase().into());
        clauses.push(format!(
            "(lower(s.user_id) = {email} OR lower(s.user_context::jsonb ->> 'email') = {email})"
        ));
    }
    if let Some(kind) = filters.integration_type {
        clauses.push(format!(
            "s.integration_type::text = {}",
            bind(kind.label().into())
        ));
    }
    if !filters.integration_types.is_empty() {
        let kinds = filters
            .integration_types
            .iter()
            .map(|kind| bind(kind.label().into()))
            .collect::<Vec<_>>()
            .join(", ");
        clauses.push(format!(
            "(s.integration_type::text IN ({kinds}) OR EXISTS (SELECT 1 FROM request_logs l \
               WHERE l.session_id = s.session_id \
                 AND l.normalized_request::jsonb ->> 'integration_type' IN ({kinds})))"
        ));
    }
    if let Some(agent) = &filters.agent_id {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM request_logs l WHERE l.session_id = s.session_id AND l.agent_id = {})",
            bind(agent.as_str().into())
        ));
    }
    if let Some(start) = filters.start_date {
        clauses.push(format!("s.created_at >= {}", bind(start.into())));
    }
    if let Some(end) = filters.end_date {
        clauses.push(format!("s.created_at <= {}", bind(end.into())));
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (clause, values)
}

async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ConversationsPage>, ApiError> {
    let filters = Filters::parse(query.as_deref())?;
    let only_user = scope(&state, &caller, &filters)?;
    let (clause, values) = conditions(&filters, only_user.as_deref());
    let count = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT count(*) AS total FROM request_sessions s {clause}"),
        values.clone(),
    );
    let total = Total::find_by_statement(count)
        .one(&state.db)
        .await?
        .map_or(0, |row| row.total);
    let order = if filters.random {
        "random()"
    } else {
        "s.last_request_at DESC NULLS LAST, s.id DESC"
    };
    let page = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT s.session_id, s.user_id, s.user_context::jsonb ->> 'email' AS user_email, \
               s.integration_type::text AS integration_type, s.status::text AS status, \
               s.created_at, s.last_request_at, s.total_requests, s.current_agent_id, \
               s.llama_stack_session_id AS current_thread_id \
             FROM request_sessions s {clause} ORDER BY {order} LIMIT {} OFFSET {}",
            filters.limit, filters.offset
        ),
        values,
    );
    let sessions = SessionRow::find_by_statement(page).all(&state.db).await?;
    let mut messages = if filters.include_messages && !sessions.is_empty() {
        messages_of(&state, &sessions).await?
    } else {
        HashMap::new()
    };
    let sessions: Vec<Conversation> = sessions
        .into_iter()
        .map(|row| {
            let conversation = filters.include_messages.then(|| {
                messages
                    .remove(&row.session_id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|message| ConversationMessage {
                        request_id: message.request_id,
                        timestamp: message.created_at,
                        integration_type: message.integration_type,
                        user_message: message.request_content,
                        agent_response: message.response_content,
                        agent_id: message.agent_id,
                        thread_id: row.current_thread_id.clone(),
                        thread_id_source: if row.current_thread_id.is_some() {
                            "session".into()
                        } else {
                            "none".into()
                        },
                        processing_time_ms: message.processing_time_ms.map(i64::from),
                        completed_at: message.completed_at,
                    })
                    .collect::<Vec<_>>()
            });
            let mut integration_types: Vec<String> = match &conversation {
                Some(messages) if !messages.is_empty() => messages
                    .iter()
                    .map(|message| message.integration_type.clone())
                    .collect(),
                _ => vec![row.integration_type.clone()],
            };
            integration_types.sort();
            integration_types.dedup();
            Conversation {
                session_id: row.session_id,
                user_id: row.user_id,
                user_email: row.user_email,
                integration_type: row.integration_type,
                status: row.status,
                created_at: row.created_at,
                last_request_at: row.last_request_at,
                total_requests: i64::from(row.total_requests),
                current_agent_id: row.current_agent_id,
                current_thread_id: row.current_thread_id,
                integration_types,
                conversation,
            }
        })
        .collect();
    Ok(Json(ConversationsPage {
        count: sessions.len(),
        sessions,
        total: u64::try_from(total).unwrap_or_default(),
        limit: filters.limit,
        offset: filters.offset,
    }))
}

/// The messages of `sessions`, oldest first, by session. A message's channel
/// is the one its request named, else its session's.
async fn messages_of(
    state: &AppState,
    sessions: &[SessionRow],
) -> Result<HashMap<String, Vec<MessageRow>>, ApiError> {
    let ids: Vec<DbValue> = sessions
        .iter()
        .map(|session| DbValue::from(session.session_id.as_str()))
        .collect();
    let placeholders = (1..=ids.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT l.session_id, l.request_id, l.created_at, \
           COALESCE(l.normalized_request::jsonb ->> 'integration_type', s.integration_type::text) AS integration_type, \
           l.request_content, l.response_content, l.agent_id, l.processing_time_ms, l.completed_at \
         FROM request_logs l JOIN request_sessions s ON s.session_id = l.session_id \
         WHERE l.session_id IN ({placeholders}) ORDER BY l.created_at, l.id"
        ),
        ids,
    );
    let mut by_session: HashMap<String, Vec<MessageRow>> = HashMap::new();
    for row in MessageRow::find_by_statement(statement)
        .all(&state.db)
        .await?
    {
        by_session
            .entry(row.session_id.clone())
            .or_default()
            .push(row);
    }
    Ok(by_session)
}
