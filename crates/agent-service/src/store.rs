//! The service's reads and writes of sessions, and reads of requests. The
//! writes of requests are the queue's (`crate::queue::sql`).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Statement, TransactionTrait,
};
use serde_json::Value;
use shared_db::entities::{IntegrationType, SessionStatus, request_logs, request_sessions};

pub type Session = request_sessions::Model;
pub type RequestLog = request_logs::Model;

/// What a new session starts with besides its owner and channel.
#[derive(Debug, Default, Clone)]
pub struct NewSession {
    pub channel_id: Option<String>,
    pub thread_id: Option<String>,
    pub external_session_id: Option<String>,
    pub integration_metadata: Option<Value>,
    pub user_context: Option<Value>,
}

pub async fn find_active_session<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    integration: IntegrationType,
) -> Result<Option<Session>, DbErr> {
    request_sessions::Entity::find()
        .filter(request_sessions::Column::UserId.eq(user_id))
        .filter(request_sessions::Column::IntegrationType.eq(integration))
        .filter(request_sessions::Column::Status.eq(SessionStatus::Active))
        .order_by_desc(request_sessions::Column::CreatedAt)
        .one(db)
        .await
}

/// The user's ACTIVE session for the channel, created when there is none
/// (the hot path, [`log_in_active_session`], has already looked). Creation
/// is serialised per (user, channel) with a transaction-scoped advisory
/// lock, and the lock holder looks again, so concurrent first requests share
/// one session, across replicas too.
pub async fn active_session(
    db: &DatabaseConnection,
    user_id: &str,
    integration: IntegrationType,
) -> Result<Session, DbErr> {
    let tx = db.begin().await?;
    lock_user_channel(&tx, user_id, integration).await?;
    let session = match find_active_session(&tx, user_id, integration).await? {
        Some(session) => session,
        None => insert_session(&tx, user_id, integration, NewSession::default()).await?,
    };
    tx.commit().await?;
    Ok(session)
}

/// Starts a new ACTIVE session; the user's previous active session on the
/// channel becomes INACTIVE (one active session per user and channel).
pub async fn open_session(
    db: &DatabaseConnection,
    user_id: &str,
    integration: IntegrationType,
    fields: NewSession,
) -> Result<Session, DbErr> {
    let tx = db.begin().await?;
    lock_user_channel(&tx, user_id, integration).await?;
    deactivate_sessions(&tx, user_id, integration, None).await?;
    let session = insert_session(&tx, user_id, integration, fields).await?;
    tx.commit().await?;
    Ok(session)
}

/// Ends the user's ACTIVE session on the channel, if any: their next
/// message opens a new one.
pub async fn end_active_session(
    db: &DatabaseConnection,
    user_id: &str,
    integration: IntegrationType,
) -> Result<(), DbErr> {
    let tx = db.begin().await?;
    lock_user_channel(&tx, user_id, integration).await?;
    deactivate_sessions(&tx, user_id, integration, None).await?;
    tx.commit().await
}

/// What a client may change on a session.
#[derive(Debug, Default, Clone)]
pub struct SessionChanges {
    pub status: Option<SessionStatus>,
    pub current_agent_id: Option<String>,
    pub integration_metadata: Option<Value>,
    pub user_context: Option<Value>,
}

/// Applies `changes` to the session, under the per-(user, channel) lock
/// that creation takes: making a session ACTIVE steps the user's other
/// ACTIVE session on the channel down in the same transaction, so there is
/// never more than one. `None` when there is no such session.
pub async fn update_session(
    db: &DatabaseConnection,
    session: &Session,
    changes: SessionChanges,
) -> Result<Option<Session>, DbErr> {
    let tx = db.begin().await?;
    lock_user_channel(&tx, &session.user_id, session.integration_type).await?;
    if changes.status == Some(SessionStatus::Active) {
        deactivate_sessions(
            &tx,
            &session.user_id,
            session.integration_type,
            Some(&session.session_id),
        )
        .await?;
    }
    let mut update = request_sessions::Entity::update_many()
        .col_expr(
            request_sessions::Column::UpdatedAt,
            Expr::current_timestamp(),
        )
        .filter(request_sessions::Column::SessionId.eq(session.session_id.as_str()));
    if let Some(status) = changes.status {
        update = update.col_expr(request_sessions::Column::Status, status.as_enum());
    }
    if let Some(agent) = changes.current_agent_id {
        update = update.col_expr(request_sessions::Column::CurrentAgentId, Expr::value(agent));
    }
    if let Some(metadata) = changes.integration_metadata {
        update = update.col_expr(
            request_sessions::Column::IntegrationMetadata,
            Expr::value(metadata),
        );
    }
    if let Some(context) = changes.user_context {
        update = update.col_expr(request_sessions::Column::UserContext, Expr::value(context));
    }
    update.exec(&tx).await?;
    let updated = request_sessions::Entity::find()
        .filter(request_sessions::Column::SessionId.eq(session.session_id.as_str()))
        .one(&tx)
        .await?;
    tx.commit().await?;
    Ok(updated)
}

/// Sets the user's ACTIVE sessions on the channel INACTIVE, but `except`.
async fn deactivate_sessions(
    tx: &DatabaseTransaction,
    user_id: &str,
    integration: IntegrationType,
    except: Option<&str>,
) -> Result<(), DbErr> {
    let mut update = request_sessions::Entity::update_many()
        .col_expr(
            request_sessions::Column::Status,
            SessionStatus::Inactive.as_enum(),
        )
        .col_expr(
            request_sessions::Column::UpdatedAt,
            Expr::current_timestamp(),
        )
        .filter(request_sessions::Column::UserId.eq(user_id))
        .filter(request_sessions::Column::IntegrationType.eq(integration))
        .filter(request_sessions::Column::Status.eq(SessionStatus::Active));
    if let Some(session_id) = except {
        update = update.filter(request_sessions::Column::SessionId.ne(session_id));
    }
    update.exec(tx).await.map(drop)
}

async fn lock_user_channel(
    tx: &DatabaseTransaction,
    user_id: &str,
    integration: IntegrationType,
) -> Result<(), DbErr> {
    let key = format!("ssa-session/{user_id}/{integration:?}");
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [key.into()],
    ))
    .await
    .map(drop)
}

async fn insert_session(
    tx: &DatabaseTransaction,
    user_id: &str,
    integration: IntegrationType,
    fields: NewSession,
) -> Result<Session, DbErr> {
    let now = chrono::Utc::now().fixed_offset();
    request_sessions::ActiveModel {
        session_id: Set(uuid::Uuid::new_v4().to_string()),
        user_id: Set(user_id.to_owned()),
        integration_type: Set(integration),
        status: Set(SessionStatus::Active),
        channel_id: Set(fields.channel_id),
        thread_id: Set(fields.thread_id),
        external_session_id: Set(fields.external_session_id),
        integration_metadata: Set(fields.integration_metadata),
        user_context: Set(fields.user_context),
        total_requests: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await
}

pub async fn get_session(
    db: &DatabaseConnection,
    session_id: &str,
) -> Result<Option<Session>, DbErr> {
    request_sessions::Entity::find()
        .filter(request_sessions::Column::SessionId.eq(session_id))
        .one(db)
        .await
}

/// A request with the session it belongs to.
pub async fn get_request(
    db: &DatabaseConnection,
    request_id: &str,
) -> Result<Option<(RequestLog, Option<Session>)>, DbErr> {
    request_logs::Entity::find()
        .filter(request_logs::Column::RequestId.eq(request_id))
        .find_also_related(request_sessions::Entity)
        .one(db)
        .await
}
