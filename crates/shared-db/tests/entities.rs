//! The entities read and write every table of the schema, including the
//! enum columns, json columns and the cascading foreign key.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

use std::str::FromStr as _;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait,
    IntoActiveModel, ModelTrait, PrimaryKeyTrait,
};
use serde_json::json;
use shared_db::entities::*;
use shared_db::migrate::{self, Timeouts};
use shared_db::{DbConfig, wait_for_database};
use test_support::test_database;

async fn migrated() -> DatabaseConnection {
    let db = test_database().await.unwrap();
    let config = DbConfig::from_url(&db.url()).unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(30),
        lock: Duration::from_secs(10),
    };
    migrate::up(&config, timeouts).await.unwrap();
    wait_for_database(&config, Duration::from_secs(10))
        .await
        .unwrap()
}

/// Inserts `row` with `created_at` and `updated_at` (every table has both)
/// set to now; the row as stored.
async fn insert<A>(db: &DatabaseConnection, mut row: A) -> <A::Entity as EntityTrait>::Model
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let now = Utc::now().fixed_offset();
    for name in ["created_at", "updated_at"] {
        let column = <A::Entity as EntityTrait>::Column::from_str(name)
            .unwrap_or_else(|_| panic!("every table has {name}"));
        row.set(column, now.into());
    }
    row.insert(db).await.unwrap()
}

/// The row of `E` with primary key `id`, if any.
async fn find<E: EntityTrait>(
    db: &DatabaseConnection,
    id: <E::PrimaryKey as PrimaryKeyTrait>::ValueType,
) -> Option<E::Model> {
    E::find_by_id(id).one(db).await.unwrap()
}

#[tokio::test]
async fn sessions_and_requests_round_trip() {
    let db = migrated().await;
    let session = insert(
        &db,
        request_sessions::ActiveModel {
            session_id: Set("5f0c6f0e-0000-4000-8000-000000000001".into()),
            user_id: Set("alice".into()),
            integration_type: Set(IntegrationType::Cli),
            status: Set(SessionStatus::Active),
            integration_metadata: Set(Some(json!({"channel": "terminal"}))),
            total_requests: Set(0),
            ..Default::default()
        },
    )
    .await;

    let request = insert(
        &db,
        request_logs::ActiveModel {
            request_id: Set("r-1".into()),
            session_id: Set(session.session_id.clone()),
            request_type: Set("message".into()),
            request_content: Set("I need a new laptop".into()),
            normalized_request: Set(Some(json!({"content": "I need a new laptop"}))),
            ..Default::default()
        },
    )
    .await;

    let mut update: request_logs::ActiveModel = request.clone().into();
    update.response_content = Set(Some("Sure".into()));
    update.processing_time_ms = Set(Some(42));
    update.update(&db).await.unwrap();

    let (read, parent) = request_logs::Entity::find_by_id(request.id)
        .find_also_related(request_sessions::Entity)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.response_content.as_deref(), Some("Sure"));
    assert_eq!(read.processing_time_ms, Some(42));
    assert_eq!(
        read.normalized_request,
        Some(json!({"content": "I need a new laptop"}))
    );
    let parent = parent.unwrap();
    assert_eq!(parent.integration_type, IntegrationType::Cli);
    assert_eq!(parent.status, SessionStatus::Active);

    read.delete(&db).await.unwrap();
    session.delete(&db).await.unwrap();
    assert!(
        request_sessions::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn deleting_an_integration_config_cascades_to_its_delivery_logs() {
    let db = migrated().await;
    let config = insert(
        &db,
        user_integration_configs::ActiveModel {
            user_id: Set("bob".into()),
            integration_type: Set(IntegrationType::Email),
            enabled: Set(true),
            config: Set(json!({"address": "bob@example.com"})),
            priority: Set(1),
            retry_count: Set(3),
            retry_delay_seconds: Set(60),
            ..Default::default()
        },
    )
    .await;
    let delivery = insert(
        &db,
        delivery_logs::ActiveModel {
            request_id: Set("r-2".into()),
            session_id: Set("s-2".into()),
            user_id: Set("bob".into()),
            integration_config_id: Set(config.id),
            integration_type: Set(IntegrationType::Email),
            content: Set("Your laptop ships Monday".into()),
            status: Set(DeliveryStatus::Retrying),
            attempts: Set(1),
            max_attempts: Set(3),
            error_details: Set(Some(json!({"smtp": 451}))),
            ..Default::default()
        },
    )
    .await;
    let read = find::<delivery_logs::Entity>(&db, delivery.id)
        .await
        .unwrap();
    assert_eq!(read.status, DeliveryStatus::Retrying);

    config.delete(&db).await.unwrap();

    assert!(
        find::<delivery_logs::Entity>(&db, delivery.id)
            .await
            .is_none()
    );
}

#[tokio::test]
async fn templates_credentials_and_processed_events_round_trip() {
    let db = migrated().await;
    let template = insert(
        &db,
        integration_templates::ActiveModel {
            integration_type: Set(IntegrationType::Slack),
            template_name: Set("default".into()),
            body_template: Set("{{content}}".into()),
            required_variables: Set(Some(json!(["content"]))),
            is_default: Set(true),
            is_active: Set(true),
            ..Default::default()
        },
    )
    .await;
    let credential = insert(
        &db,
        integration_credentials::ActiveModel {
            integration_type: Set(IntegrationType::Slack),
            credential_name: Set("bot-token".into()),
            encrypted_value: Set("gAAAA-ciphertext".into()),
            ..Default::default()
        },
    )
    .await;
    let event = insert(
        &db,
        processed_events::ActiveModel {
            event_id: Set("evt-1".into()),
            event_type: Set("com.example.request".into()),
            event_source: Set("request-manager".into()),
            processed_by: Set("agent-service".into()),
            processing_result: Set("success".into()),
            ..Default::default()
        },
    )
    .await;

    let mut renamed: integration_templates::ActiveModel = template.into();
    renamed.template_name = Set("compact".into());
    let renamed = renamed.update(&db).await.unwrap();
    assert_eq!(renamed.template_name, "compact");
    assert_eq!(
        find::<integration_credentials::Entity>(&db, credential.id)
            .await
            .unwrap()
            .encrypted_value,
        "gAAAA-ciphertext"
    );
    assert_eq!(
        find::<processed_events::Entity>(&db, event.id)
            .await
            .unwrap()
            .event_id,
        "evt-1"
    );
    renamed.delete(&db).await.unwrap();
    credential.delete(&db).await.unwrap();
    event.delete(&db).await.unwrap();
}
