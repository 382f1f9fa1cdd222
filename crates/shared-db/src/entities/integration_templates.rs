//! A message template for one integration channel.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::enums::IntegrationType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "integration_templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub integration_type: IntegrationType,
    pub template_name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub subject_template: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub body_template: String,
    #[sea_orm(column_type = "Json", nullable)]
    pub required_variables: Option<Json>,
    #[sea_orm(column_type = "Json", nullable)]
    pub optional_variables: Option<Json>,
    pub is_default: bool,
    pub is_active: bool,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
