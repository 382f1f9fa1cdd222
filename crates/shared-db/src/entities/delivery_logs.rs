//! One attempt history of delivering a response over a user's channel.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::enums::{DeliveryStatus, IntegrationType};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "delivery_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub request_id: String,
    pub session_id: String,
    pub user_id: String,
    pub integration_config_id: i32,
    pub integration_type: IntegrationType,
    #[sea_orm(column_type = "Text", nullable)]
    pub subject: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    pub template_used: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub first_attempt_at: Option<DateTimeWithTimeZone>,
    pub last_attempt_at: Option<DateTimeWithTimeZone>,
    pub delivered_at: Option<DateTimeWithTimeZone>,
    pub expires_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
    #[sea_orm(column_type = "Json", nullable)]
    pub error_details: Option<Json>,
    #[sea_orm(column_type = "Json", nullable)]
    pub integration_metadata: Option<Json>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user_integration_configs::Entity",
        from = "Column::IntegrationConfigId",
        to = "super::user_integration_configs::Column::Id",
        on_delete = "Cascade"
    )]
    UserIntegrationConfig,
}

impl Related<super::user_integration_configs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserIntegrationConfig.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
