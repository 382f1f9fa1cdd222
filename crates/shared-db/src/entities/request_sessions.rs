//! One conversation of a user over one integration channel.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::enums::{IntegrationType, SessionStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "request_sessions")]
pub struct Model {
    /// The row id is internal: APIs show `session_id`.
    #[sea_orm(primary_key)]
    #[serde(skip_serializing)]
    pub id: i32,
    #[sea_orm(unique)]
    pub session_id: String,
    pub user_id: String,
    pub integration_type: IntegrationType,
    pub status: SessionStatus,
    pub channel_id: Option<String>,
    pub thread_id: Option<String>,
    #[sea_orm(column_type = "Json", nullable)]
    pub integration_metadata: Option<Json>,
    pub total_requests: i32,
    pub last_request_at: Option<DateTimeWithTimeZone>,
    pub expires_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    pub external_session_id: Option<String>,
    pub current_agent_id: Option<String>,
    pub llama_stack_session_id: Option<String>,
    #[sea_orm(column_type = "Json", nullable)]
    pub user_context: Option<Json>,
    #[sea_orm(column_type = "Json", nullable)]
    pub conversation_context: Option<Json>,
    pub last_request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::request_logs::Entity")]
    RequestLogs,
}

impl Related<super::request_logs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RequestLogs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
