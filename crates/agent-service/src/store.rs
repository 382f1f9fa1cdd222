//! The service's reads and writes of sessions and requests. The hot path
//! takes two statements: one finds the user's active session, logs the
//! request in it and counts it; one stores the answer and moves the
//! session to the answering agent.

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

/// Makes `session` the user's one ACTIVE session on its channel.
pub async fn reactivate_session(db: &DatabaseConnection, session: &Session) -> Result<(), DbErr> {
    let tx = db.begin().await?;
    lock_user_channel(&tx, &session.user_id, session.integration_type).await?;
    deactivate_sessions(
        &tx,
        &session.user_id,
        session.integration_type,
        Some(&session.session_id),
    )
    .await?;
    request_sessions::Entity::update_many()
        .col_expr(
            request_sessions::Column::Status,
            SessionStatus::Active.as_enum(),
        )
        .col_expr(
            request_sessions::Column::UpdatedAt,
            Expr::current_timestamp(),
        )
        .filter(request_sessions::Column::SessionId.eq(session.session_id.as_str()))
        .exec(&tx)
        .await?;
    tx.commit().await
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

pub async fn save_session(
    db: &DatabaseConnection,
    session: request_sessions::ActiveModel,
) -> Result<Session, DbErr> {
    session.update(db).await
}

/// A request as received, before any agent has seen it.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub request_id: &'a str,
    pub request_type: &'a str,
    pub content: &'a str,
    pub normalized: Value,
}

/// Logs the request in the user's ACTIVE session on the channel, counts it
/// there and returns the session (as it was before the request), all in
/// one statement; `None` when the user has no active session.
pub async fn log_in_active_session(
    db: &DatabaseConnection,
    user_id: &str,
    integration: IntegrationType,
    request: &NewRequest<'_>,
) -> Result<Option<Session>, DbErr> {
    request_sessions::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH session AS ( \
               SELECT * FROM request_sessions \
               WHERE user_id = $1 AND integration_type = CAST($2 AS integrationtype) \
                 AND status = 'ACTIVE' \
               ORDER BY created_at DESC LIMIT 1 \
             ), logged AS ( \
               INSERT INTO request_logs (request_id, session_id, request_type, request_content, \
                                         normalized_request, created_at, updated_at) \
               SELECT $3, session_id, $4, $5, $6::json, now(), now() FROM session \
             ), counted AS ( \
               UPDATE request_sessions SET total_requests = request_sessions.total_requests + 1, \
                 last_request_id = $3, last_request_at = now(), updated_at = now() \
               FROM session WHERE request_sessions.id = session.id \
             ) \
             SELECT id, session_id, user_id, integration_type::text AS integration_type, \
               status::text AS status, channel_id, thread_id, integration_metadata, \
               total_requests, last_request_at, expires_at, created_at, updated_at, \
               external_session_id, current_agent_id, llama_stack_session_id, user_context, \
               conversation_context, last_request_id \
             FROM session",
            [
                user_id.into(),
                integration.to_value().into(),
                request.request_id.into(),
                request.request_type.into(),
                request.content.into(),
                request.normalized.clone().into(),
            ],
        ))
        .one(db)
        .await
}

/// Records the request in `session_id` and counts it there, in one statement.
pub async fn log_request(
    db: &DatabaseConnection,
    session_id: &str,
    request: &NewRequest<'_>,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH logged AS ( \
           INSERT INTO request_logs (request_id, session_id, request_type, request_content, \
                                     normalized_request, created_at, updated_at) \
           VALUES ($1, $2, $3, $4, $5::json, now(), now()) \
         ) \
         UPDATE request_sessions SET total_requests = total_requests + 1, \
           last_request_id = $1, last_request_at = now(), updated_at = now() \
         WHERE session_id = $2",
        [
            request.request_id.into(),
            session_id.into(),
            request.request_type.into(),
            request.content.into(),
            request.normalized.clone().into(),
        ],
    ))
    .await
    .map(drop)
}

/// An answered request and where the conversation now stands.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    pub request_id: &'a str,
    pub session_id: &'a str,
    pub content: &'a str,
    /// The agent that answered (by name); the session continues with it.
    pub agent: &'a str,
    pub processing_time_ms: i32,
    pub metadata: Value,
    /// The answering agent's LlamaStack session.
    pub llama_stack_session_id: &'a str,
    /// LlamaStack sessions used by this request, by agent name (merged in).
    pub llama_stack_sessions: Value,
}

/// Stores the answer and moves the session on, in one statement.
pub async fn complete_request(db: &DatabaseConnection, answer: Answer<'_>) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH answered AS ( \
           UPDATE request_logs SET response_content = $3, agent_id = $4, \
             processing_time_ms = $5, response_metadata = $6::json, \
             completed_at = now(), updated_at = now() \
           WHERE request_id = $1 \
         ) \
         UPDATE request_sessions SET current_agent_id = $4, llama_stack_session_id = $7, \
           conversation_context = (COALESCE(conversation_context::jsonb, '{}'::jsonb) \
             || jsonb_build_object('llama_stack_sessions', \
                  COALESCE(conversation_context::jsonb -> 'llama_stack_sessions', '{}'::jsonb) \
                  || $8::jsonb))::json, \
           updated_at = now() \
         WHERE session_id = $2",
        [
            answer.request_id.into(),
            answer.session_id.into(),
            answer.content.into(),
            answer.agent.into(),
            answer.processing_time_ms.into(),
            answer.metadata.into(),
            answer.llama_stack_session_id.into(),
            answer.llama_stack_sessions.into(),
        ],
    ))
    .await
    .map(drop)
}

/// Records that the request failed, with why; it is never left "processing".
pub async fn fail_request(
    db: &DatabaseConnection,
    request_id: &str,
    agent: Option<&str>,
    processing_time_ms: i32,
    metadata: Value,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE request_logs SET agent_id = $2, processing_time_ms = $3, \
           response_metadata = $4::json, completed_at = now(), updated_at = now() \
         WHERE request_id = $1",
        [
            request_id.into(),
            agent.map(str::to_owned).into(),
            processing_time_ms.into(),
            metadata.into(),
        ],
    ))
    .await
    .map(drop)
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
