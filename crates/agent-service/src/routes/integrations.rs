//! A user's delivery channels and deliveries:
//! `GET`/`POST /api/v1/users/{user_id}/integrations`,
//! `PUT`/`DELETE /api/v1/users/{user_id}/integrations/{integration_type}`,
//! `GET /api/v1/users/{user_id}/deliveries`. Users manage their own; the
//! users named in `ADMIN_USERS` manage anyone's. Configs are validated per
//! channel type (`delivery::validate`), and their secrets are never
//! answered or logged in full (`delivery::redact`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared_db::entities::{
    DeliveryStatus, IntegrationType, delivery_logs, user_integration_configs,
};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/users/{user_id}/integrations",
            get(list).post(create),
        )
        .route(
            "/api/v1/users/{user_id}/integrations/{integration_type}",
            put(update).delete(remove),
        )
        .route("/api/v1/users/{user_id}/deliveries", get(deliveries))
}

/// A channel of a user, as answered (secrets redacted).
#[derive(Debug, Serialize)]
pub struct Integration {
    pub id: i32,
    pub user_id: String,
    pub integration_type: IntegrationType,
    pub enabled: bool,
    pub config: Value,
    pub priority: i32,
    pub retry_count: i32,
    pub retry_delay_seconds: i32,
    pub created_by: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<user_integration_configs::Model> for Integration {
    fn from(row: user_integration_configs::Model) -> Self {
        Self {
            config: delivery::redact(row.integration_type, &row.config),
            id: row.id,
            user_id: row.user_id,
            integration_type: row.integration_type,
            enabled: row.enabled,
            priority: row.priority,
            retry_count: row.retry_count,
            retry_delay_seconds: row.retry_delay_seconds,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The caller may act for `user_id`: it is them, or an admin.
fn allowed(state: &AppState, caller: &Identity, user_id: &str) -> Result<(), ApiError> {
    if caller.as_str() == user_id
        || state
            .config
            .admin_users
            .iter()
            .any(|admin| admin == caller.as_str())
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only {user_id} (or an administrator, ADMIN_USERS) manages {user_id}'s integrations"
        )))
    }
}

/// Refuses a config the channel type cannot use, naming the field.
fn validate(state: &AppState, kind: IntegrationType, config: &Value) -> Result<(), ApiError> {
    if let Some(why) = state.channels.unavailable_reason(kind) {
        return Err(ApiError::Unprocessable(format!(
            "integration_type: {} is not available here: {why}",
            kind.label()
        )));
    }
    state
        .channels
        .check(kind, config)
        .map(drop)
        .map_err(|problem| ApiError::Unprocessable(format!("config.{problem}")))
}

async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<Vec<Integration>>, ApiError> {
    allowed(&state, &caller, &user_id)?;
    let rows = user_integration_configs::Entity::find()
        .filter(user_integration_configs::Column::UserId.eq(user_id))
        .order_by_desc(user_integration_configs::Column::Priority)
        .order_by_asc(user_integration_configs::Column::Id)
        .all(&state.db)
        .await?;
    Ok(Json(rows.into_iter().map(Integration::from).collect()))
}

/// A new channel; everything but `integration_type` and `config` has a default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIntegration {
    pub integration_type: IntegrationType,
    #[serde(default = "enabled")]
    pub enabled: bool,
    pub config: Value,
    #[serde(default)]
    pub priority: i32,
    #[serde(default = "retry_count")]
    pub retry_count: i32,
    #[serde(default = "retry_delay_seconds")]
    pub retry_delay_seconds: i32,
}

fn enabled() -> bool {
    true
}
fn retry_count() -> i32 {
    3
}
fn retry_delay_seconds() -> i32 {
    60
}

/// Bounds of the numbers a channel takes.
fn check_numbers(
    retry_count: i32,
    retry_delay_seconds: i32,
    priority: i32,
) -> Result<(), ApiError> {
    if !(0..=20).contains(&retry_count) {
        return Err(ApiError::Unprocessable(
            "retry_count: must be 0 to 20".into(),
        ));
    }
    if !(1..=86_400).contains(&retry_delay_seconds) {
        return Err(ApiError::Unprocessable(
            "retry_delay_seconds: must be 1 to 86400".into(),
        ));
    }
    if !(-1000..=1000).contains(&priority) {
        return Err(ApiError::Unprocessable(
            "priority: must be -1000 to 1000".into(),
        ));
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(body): ApiJson<NewIntegration>,
) -> Result<(StatusCode, Json<Integration>), ApiError> {
    allowed(&state, &caller, &user_id)?;
    if user_id.chars().count() > 255 {
        return Err(ApiError::Unprocessable(
            "user_id: at most 255 characters".into(),
        ));
    }
    check_numbers(body.retry_count, body.retry_delay_seconds, body.priority)?;
    validate(&state, body.integration_type, &body.config)?;
    let exists = user_integration_configs::Entity::find()
        .filter(user_integration_configs::Column::UserId.eq(user_id.as_str()))
        .filter(user_integration_configs::Column::IntegrationType.eq(body.integration_type))
        .count(&state.db)
        .await?;
    if exists > 0 {
        return Err(ApiError::Conflict(format!(
            "{user_id} already has a {} integration: change it with PUT",
            body.integration_type.label()
        )));
    }
    let now = chrono::Utc::now().fixed_offset();
    let row = user_integration_configs::ActiveModel {
        user_id: Set(user_id),
        integration_type: Set(body.integration_type),
        enabled: Set(body.enabled),
        config: Set(body.config),
        priority: Set(body.priority),
        retry_count: Set(body.retry_count),
        retry_delay_seconds: Set(body.retry_delay_seconds),
        created_by: Set(Some(caller.as_str().to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|error| match shared_db::is_unique_violation(&error) {
        true => {
            ApiError::Conflict("the integration was created meanwhile: change it with PUT".into())
        }
        false => error.into(),
    })?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// What a PUT may change; what it leaves out stays.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationChanges {
    pub enabled: Option<bool>,
    pub config: Option<Value>,
    pub priority: Option<i32>,
    pub retry_count: Option<i32>,
    pub retry_delay_seconds: Option<i32>,
}

async fn find(
    state: &AppState,
    user_id: &str,
    kind: IntegrationType,
) -> Result<user_integration_configs::Model, ApiError> {
    user_integration_configs::Entity::find()
        .filter(user_integration_configs::Column::UserId.eq(user_id))
        .filter(user_integration_configs::Column::IntegrationType.eq(kind))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{user_id} has no {} integration", kind.label())))
}

async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((user_id, kind)): ApiPath<(String, IntegrationType)>,
    ApiJson(body): ApiJson<IntegrationChanges>,
) -> Result<Json<Integration>, ApiError> {
    allowed(&state, &caller, &user_id)?;
    let row = find(&state, &user_id, kind).await?;
    check_numbers(
        body.retry_count.unwrap_or(row.retry_count),
        body.retry_delay_seconds.unwrap_or(row.retry_delay_seconds),
        body.priority.unwrap_or(row.priority),
    )?;
    if let Some(config) = &body.config {
        validate(&state, kind, config)?;
    }
    let mut active: user_integration_configs::ActiveModel = row.into();
    if let Some(enabled) = body.enabled {
        active.enabled = Set(enabled);
    }
    if let Some(config) = body.config {
        active.config = Set(config);
    }
    if let Some(priority) = body.priority {
        active.priority = Set(priority);
    }
    if let Some(retry_count) = body.retry_count {
        active.retry_count = Set(retry_count);
    }
    if let Some(delay) = body.retry_delay_seconds {
        active.retry_delay_seconds = Set(delay);
    }
    active.updated_at = Set(chrono::Utc::now().fixed_offset());
    Ok(Json(active.update(&state.db).await?.into()))
}

async fn remove(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((user_id, kind)): ApiPath<(String, IntegrationType)>,
) -> Result<StatusCode, ApiError> {
    allowed(&state, &caller, &user_id)?;
    let row = find(&state, &user_id, kind).await?;
    user_integration_configs::Entity::delete_by_id(row.id)
        .exec(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?status=DELIVERED&limit=50&offset=0`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    #[serde(default = "page_size")]
    pub limit: u64,
    #[serde(default)]
    pub offset: u64,
}

fn page_size() -> u64 {
    50
}

/// One delivery, as answered.
#[derive(Debug, Serialize)]
pub struct DeliveryEntry {
    pub id: i32,
    pub request_id: String,
    pub session_id: String,
    pub integration_type: IntegrationType,
    pub status: DeliveryStatus,
    pub subject: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub first_attempt_at: Option<DateTime<FixedOffset>>,
    pub last_attempt_at: Option<DateTime<FixedOffset>>,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    pub expires_at: Option<DateTime<FixedOffset>>,
    pub error_message: Option<String>,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryEntry>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

async fn deliveries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(user_id): ApiPath<String>,
    query: Result<Query<DeliveryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeliveryPage>, ApiError> {
    allowed(&state, &caller, &user_id)?;
    let Query(query) = query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    if !(1..=500).contains(&query.limit) {
        return Err(ApiError::BadRequest("limit: must be 1 to 500".into()));
    }
    let mut select =
        delivery_logs::Entity::find().filter(delivery_logs::Column::UserId.eq(user_id));
    if let Some(status) = query.status {
        select = select.filter(delivery_logs::Column::Status.eq(status));
    }
    let total = select.clone().count(&state.db).await?;
    let rows = select
        .order_by_desc(delivery_logs::Column::CreatedAt)
        .order_by_desc(delivery_logs::Column::Id)
        .limit(query.limit)
        .offset(query.offset)
        .all(&state.db)
        .await?;
    let deliveries = rows
        .into_iter()
        .map(|row| DeliveryEntry {
            id: row.id,
            request_id: row.request_id,
            session_id: row.session_id,
            integration_type: row.integration_type,
            status: row.status,
            subject: row.subject,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            first_attempt_at: row.first_attempt_at,
            last_attempt_at: row.last_attempt_at,
            delivered_at: row.delivered_at,
            expires_at: row.expires_at,
            error_message: row.error_message,
            created_at: row.created_at,
        })
        .collect();
    Ok(Json(DeliveryPage {
        deliveries,
        total,
        limit: query.limit,
        offset: query.offset,
    }))
}
