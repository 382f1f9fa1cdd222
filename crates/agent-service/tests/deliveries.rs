//! Answers delivered to the users' integrations through the durable queue,
//! against real peers: an SMTP server (aiosmtpd) and a webhook receiver
//! that verifies every signature with the official Standard Webhooks
//! library, both from `target/venv/delivery`; a real PostgreSQL; the
//! dispatcher in-process. Plus the integrations API.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use app_support::Seconds;
use common::{TestApp, get, json_request, start_with_settings};
use delivery::{DeliverySettings, SmtpSecurity};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use shared_db::entities::{DeliveryStatus, delivery_logs};
use test_support::smtp::{SmtpServer, python_or_skip};
use test_support::webhook_receiver::{Answer, WebhookReceiver};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const OTHER_SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA==";

fn smtp_settings(port: u16) -> DeliverySettings {
    DeliverySettings {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: port,
        smtp_security: SmtpSecurity::None,
        smtp_timeout: Seconds::new(5),
        from_email: "agent@it.example.com".into(),
        from_name: "IT Self-Service".into(),
        ..DeliverySettings::default()
    }
}

/// The service with a dispatcher polling often, backoff of a fraction of
/// a second, and email through `smtp_port`.
async fn service(smtp_port: u16, ttl: Duration) -> TestApp {
    let app = start_with_settings(|settings| {
        settings.delivery = smtp_settings(smtp_port);
        settings.service.dispatch_poll_interval = Duration::from_millis(100);
        settings.service.delivery_max_backoff = Duration::from_millis(300);
        settings.service.delivery_ttl = ttl;
    })
    .await;
    agent_service::start_dispatcher(&app.state);
    app
}

async fn integrate(app: &TestApp, user: &str, body: Value) {
    let (status, answer) = app
        .call(json_request(
            "POST",
            &format!("/api/v1/users/{user}/integrations"),
            Some(user),
            &body,
        ))
        .await;
    assert_eq!(status, 201, "{answer}");
}

async fn deliveries_of(app: &TestApp, user: &str) -> Vec<delivery_logs::Model> {
    delivery_logs::Entity::find()
        .filter(delivery_logs::Column::UserId.eq(user))
        .order_by_asc(delivery_logs::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

/// Waits until every delivery of `user` is in one of `final_states`.
async fn settled(
    app: &TestApp,
    user: &str,
    count: usize,
    within: Duration,
) -> Vec<delivery_logs::Model> {
    let started = Instant::now();
    loop {
        let rows = deliveries_of(app, user).await;
        if rows.len() == count
            && rows.iter().all(|row| {
                !matches!(
                    row.status,
                    DeliveryStatus::Pending | DeliveryStatus::Retrying
                )
            })
        {
            return rows;
        }
        assert!(started.elapsed() < within, "not settled: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn unused_port() -> u16 {
    test_support::postgres::free_port().unwrap()
}

#[tokio::test]
async fn an_email_integration_receives_the_answer_with_subject_both_parts_and_headers() {
    let Some(python) = python_or_skip("an_email_integration_receives_the_answer") else {
        return;
    };
    let smtp = SmtpServer::start(&python).unwrap();
    let app = service(smtp.port(), Duration::from_secs(600)).await;
    integrate(
        &app,
        "alice",
        json!({"integration_type": "EMAIL", "config": {"email_address": "alice@example.com"}}),
    )
    .await;
    let (status, sent) = app.send("alice", "I need a new laptop").await;
    assert_eq!(status, 200, "{sent}");

    let rows = settled(&app, "alice", 1, Duration::from_secs(10)).await;
    assert_eq!(rows[0].status, DeliveryStatus::Delivered, "{rows:#?}");
    let mail = smtp.wait_for(1, Duration::from_secs(10)).unwrap().remove(0);
    assert_eq!(mail.rcpt_tos, ["alice@example.com"]);
    assert_eq!(mail.content_type, "multipart/alternative");
    assert!(
        mail.text
            .as_deref()
            .unwrap()
            .contains("laptop-refresh agent"),
        "{mail:?}"
    );
    assert!(mail.html.as_deref().unwrap().contains("<p>"), "{mail:?}");
    assert_eq!(mail.header("X-Request-ID"), sent["request_id"].as_str());
    assert_eq!(mail.header("X-Session-ID"), sent["session_id"].as_str());
    assert_eq!(mail.header("X-Agent-ID"), Some("laptop-refresh"));
    assert!(!mail.header("Subject").unwrap_or_default().is_empty());
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].delivered_at.is_some() && rows[0].subject.is_some());
}

#[tokio::test]
async fn a_temporary_smtp_refusal_is_retried_and_a_permanent_one_fails_at_once() {
    let Some(python) = python_or_skip("a_temporary_smtp_refusal_is_retried") else {
        return;
    };
    let mut smtp = SmtpServer::start(&python).unwrap();
    let app = service(smtp.port(), Duration::from_secs(600)).await;
    integrate(&app, "alice", json!({"integration_type": "EMAIL", "config": {"email_address": "alice@example.com"}, "retry_delay_seconds": 1})).await;
    smtp.reject_next(&[451]).unwrap();
    app.send("alice", "hello").await;
    let rows = settled(&app, "alice", 1, Duration::from_secs(10)).await;
    assert_eq!(rows[0].status, DeliveryStatus::Delivered);
    assert_eq!(rows[0].attempts, 2, "retried once after the 451");
    assert_eq!(smtp.messages().unwrap().len(), 1);

    smtp.reject_next(&[550]).unwrap();
    app.send("alice", "hello again").await;
    let rows = settled(&app, "alice", 2, Duration::from_secs(10)).await;
    assert_eq!(rows[1].status, DeliveryStatus::Failed);
    assert_eq!(rows[1].attempts, 1, "a 5xx is not retried");
    assert!(
        rows[1].error_message.as_deref().unwrap().contains("550"),
        "{:?}",
        rows[1].error_message
    );
}

#[tokio::test]
async fn a_server_that_stays_down_fails_after_max_attempts_with_the_reason() {
    let app = service(unused_port(), Duration::from_secs(600)).await;
    integrate(&app, "alice", json!({"integration_type": "EMAIL", "config": {"email_address": "alice@example.com"}, "retry_count": 2, "retry_delay_seconds": 1})).await;
    app.send("alice", "hello").await;
    let rows = settled(&app, "alice", 1, Duration::from_secs(15)).await;
    assert_eq!(rows[0].status, DeliveryStatus::Failed);
    assert_eq!(rows[0].attempts, 3, "the first attempt and two retries");
    assert_eq!(rows[0].max_attempts, 3);
    assert!(rows[0].error_message.is_some(), "{:?}", rows[0]);
}

#[tokio::test]
async fn a_delivery_not_done_before_it_expires_is_expired() {
    let app = service(unused_port(), Duration::from_millis(700)).await;
    integrate(&app, "alice", json!({"integration_type": "EMAIL", "config": {"email_address": "alice@example.com"}, "retry_count": 20, "retry_delay_seconds": 1})).await;
    app.send("alice", "hello").await;
    let rows = settled(&app, "alice", 1, Duration::from_secs(15)).await;
    assert_eq!(rows[0].status, DeliveryStatus::Expired, "{:?}", rows[0]);
}

#[tokio::test]
async fn every_webhook_delivery_verifies_and_a_retry_keeps_its_webhook_id() {
    let Some(python) = python_or_skip("every_webhook_delivery_verifies") else {
        return;
    };
    let mut receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    receiver.script(&[Answer::status(503)]).unwrap();
    let app = service(unused_port(), Duration::from_secs(600)).await;
    integrate(&app, "alice", json!({"integration_type": "WEBHOOK", "config": {"url": receiver.url("/hook"), "signing_secret": SECRET}, "retry_delay_seconds": 1})).await;
    app.send("alice", "hello").await;
    let rows = settled(&app, "alice", 1, Duration::from_secs(10)).await;
    assert_eq!(rows[0].status, DeliveryStatus::Delivered);
    let requests = receiver.requests().unwrap();
    assert_eq!(requests.len(), 2, "one 503, then the retry");
    assert!(
        requests.iter().all(|request| request.verified),
        "{requests:#?}"
    );
    assert_eq!(
        requests[0].header("webhook-id"),
        requests[1].header("webhook-id")
    );
    assert_ne!(
        requests[0].header("webhook-signature"),
        requests[1].header("webhook-signature")
    );
    let payload = requests[1].json().unwrap();
    assert_eq!(payload["user_id"], "alice");
    assert_eq!(payload["agent_id"], "routing-agent");
}

#[tokio::test]
async fn a_receiver_holding_another_secret_cannot_verify_our_signatures() {
    let Some(python) = python_or_skip("a_receiver_holding_another_secret") else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, OTHER_SECRET).unwrap();
    let app = service(unused_port(), Duration::from_secs(600)).await;
    integrate(&app, "alice", json!({"integration_type": "WEBHOOK", "config": {"url": receiver.url("/hook"), "signing_secret": SECRET}})).await;
    app.send("alice", "hello").await;
    settled(&app, "alice", 1, Duration::from_secs(10)).await;
    let requests = receiver.requests().unwrap();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|request| !request.verified),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn the_channel_a_request_came_in_on_gets_no_second_copy_and_priority_goes_first() {
    let Some(python) = python_or_skip("the_channel_a_request_came_in_on") else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    let smtp = SmtpServer::start(&python).unwrap();
    let app = service(smtp.port(), Duration::from_secs(600)).await;
    integrate(
        &app,
        "alice",
        json!({"integration_type": "TEST", "config": {}}),
    )
    .await;
    integrate(&app, "alice", json!({"integration_type": "EMAIL", "config": {"email_address": "a@example.com"}, "priority": 1})).await;
    integrate(&app, "alice", json!({"integration_type": "WEBHOOK", "config": {"url": receiver.url("/h"), "signing_secret": SECRET}, "priority": 9})).await;
    let (status, _) = app
        .call(json_request(
            "POST",
            "/api/v1/requests/generic/sync",
            Some("alice"),
            &json!({"content": "hello", "integration_type": "TEST"}),
        ))
        .await;
    assert_eq!(status, 200);
    let rows = settled(&app, "alice", 2, Duration::from_secs(10)).await;
    let kinds: Vec<String> = rows
        .iter()
        .map(|row| row.integration_type.label().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["EMAIL", "WEBHOOK"],
        "no TEST copy: it came in on TEST"
    );
    let webhook = rows
        .iter()
        .find(|row| row.integration_type.label() == "WEBHOOK")
        .unwrap();
    let email = rows
        .iter()
        .find(|row| row.integration_type.label() == "EMAIL")
        .unwrap();
    assert!(
        webhook.first_attempt_at <= email.first_attempt_at,
        "priority 9 before 1"
    );
}

#[tokio::test]
async fn bad_integration_configs_are_refused_naming_the_field() {
    let app = service(unused_port(), Duration::from_secs(600)).await;
    let uri = "/api/v1/users/alice/integrations";
    let cases = [
        (
            json!({"integration_type": "EMAIL", "config": {}}),
            "config.email_address",
        ),
        (
            json!({"integration_type": "EMAIL", "config": {"email_address": "not an address"}}),
            "config.email_address",
        ),
        (
            json!({"integration_type": "WEBHOOK", "config": {"url": "ftp://x"}}),
            "config.url",
        ),
        (
            json!({"integration_type": "WEBHOOK", "config": {"url": "http://x", "signing_secret": "nope"}}),
            "config.signing_secret",
        ),
        (
            json!({"integration_type": "WEBHOOK", "config": {"url": "http://x", "signing_secret": SECRET, "auth": {"type": "bearer"}}}),
            "config.auth.token",
        ),
        (
            json!({"integration_type": "EMAIL", "config": {"email_address": "a@b.c"}, "retry_count": 99}),
            "retry_count",
        ),
        (
            json!({"integration_type": "FAX", "config": {}}),
            "integration_type",
        ),
        (
            json!({"integration_type": "SLACK", "config": {}}),
            "integration_type",
        ),
        (json!({"integration_type": "EMAIL"}), "config"),
    ];
    for (body, field) in cases {
        let (status, answer) = app
            .call(json_request("POST", uri, Some("alice"), &body))
            .await;
        assert!(status.is_client_error(), "{body}: {status} {answer}");
        let detail = answer["detail"].as_str().unwrap();
        assert!(
            detail.contains(field),
            "{body}: '{field}' not in '{detail}'"
        );
    }
}

#[tokio::test]
async fn integrations_are_the_users_own_and_their_secrets_are_never_answered() {
    let app = service(unused_port(), Duration::from_secs(600)).await;
    let token = "tok-3b9d1f0e6a7c4e21";
    integrate(&app, "alice", json!({"integration_type": "WEBHOOK", "config": {"url": "https://hooks.example.com/x", "signing_secret": SECRET, "auth": {"type": "bearer", "token": token}}})).await;
    let (status, listed) = app
        .call(get("/api/v1/users/alice/integrations", Some("alice")))
        .await;
    assert_eq!(status, 200);
    let text = listed.to_string();
    assert!(
        !text.contains(token) && !text.contains(&SECRET[6..]),
        "{text}"
    );
    assert_eq!(listed[0]["config"]["url"], "https://hooks.example.com/x");

    for (method, uri) in [
        ("GET", "/api/v1/users/alice/integrations"),
        ("GET", "/api/v1/users/alice/deliveries"),
        ("DELETE", "/api/v1/users/alice/integrations/WEBHOOK"),
    ] {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("x-user-id", "mallory")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(app.call(request).await.0, 403, "{method} {uri}");
    }
    let (status, answer) = app
        .call(json_request(
            "PUT",
            "/api/v1/users/alice/integrations/WEBHOOK",
            Some("alice"),
            &json!({"enabled": false, "priority": 5}),
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["enabled"], false);
    assert!(!answer.to_string().contains(token));
    let (status, _) = app
        .call(json_request("POST", "/api/v1/users/alice/integrations", Some("alice"), &json!({"integration_type": "WEBHOOK", "config": {"url": "https://h/x", "signing_secret": SECRET}})))
        .await;
    assert_eq!(status, 409, "one per type");
}

#[tokio::test]
async fn an_admin_manages_anyones_integrations_and_reads_their_deliveries() {
    let app =
        start_with_settings(|settings| settings.service.admin_users = vec!["helpdesk".into()])
            .await;
    integrate(
        &app,
        "alice",
        json!({"integration_type": "TEST", "config": {}}),
    )
    .await;
    let (status, listed) = app
        .call(get("/api/v1/users/alice/integrations", Some("helpdesk")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, page) = app
        .call(get(
            "/api/v1/users/alice/deliveries?status=FAILED&limit=10",
            Some("helpdesk"),
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 0);
    let (status, bad) = app
        .call(get(
            "/api/v1/users/alice/deliveries?status=LOST",
            Some("alice"),
        ))
        .await;
    assert_eq!(status, 400, "{bad}");
}
