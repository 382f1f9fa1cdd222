//! One request of a session and, once answered, its response.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "request_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub request_id: String,
    pub session_id: String,
    pub request_type: String,
    #[sea_orm(column_type = "Text")]
    pub request_content: String,
    #[sea_orm(column_type = "Json", nullable)]
    pub normalized_request: Option<Json>,
    pub agent_id: Option<String>,
    pub processing_time_ms: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_content: Option<String>,
    #[sea_orm(column_type = "Json", nullable)]
    pub response_metadata: Option<Json>,
    pub cloudevent_id: Option<String>,
    pub cloudevent_type: Option<String>,
    pub completed_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::request_sessions::Entity",
        from = "Column::SessionId",
        to = "super::request_sessions::Column::SessionId"
    )]
    RequestSession,
}

impl Related<super::request_sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RequestSession.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
