//! A user's settings for one delivery channel.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::enums::IntegrationType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "user_integration_configs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: String,
    pub integration_type: IntegrationType,
    pub enabled: bool,
    #[sea_orm(column_type = "Json")]
    pub config: Json,
    pub priority: i32,
    pub retry_count: i32,
    pub retry_delay_seconds: i32,
    pub created_by: Option<String>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::delivery_logs::Entity")]
    DeliveryLogs,
}

impl Related<super::delivery_logs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DeliveryLogs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
