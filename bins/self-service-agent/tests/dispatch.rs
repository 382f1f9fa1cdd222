//! The delivery dispatcher as Kubernetes runs it: `self-service-agent
//! dispatch` processes beside a `serve` one, sharing a real PostgreSQL,
//! delivering to a real SMTP server and a webhook receiver that verifies
//! every signature with the official Standard Webhooks library; one of them
//! killed with SIGKILL mid-run.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{connect, fake_llamastack, migrated_database, port, scalar, service_env, spawn};
use serde_json::json;
use test_support::smtp::{SmtpServer, python_or_skip};
use test_support::webhook_receiver::{Answer, InstantReceiver, WebhookReceiver};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SMTP_PASSWORD: &str = "Smtp-Pass-77e1b0";

#[tokio::test]
async fn two_dispatchers_deliver_400_answers_once_each_though_one_is_killed() {
    let Some(python) = python_or_skip("two_dispatchers_deliver_400_answers") else {
        return;
    };
    let smtp = SmtpServer::start_with_auth(&python, "agent", SMTP_PASSWORD).unwrap();
    let mut receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    let slow: Vec<Answer> = (0..200)
        .map(|_| Answer::status(204).delay(Duration::from_millis(20)))
        .collect();
    receiver.script(&slow).unwrap();
    let db = migrated_database().await;
    let backend = fake_llamastack().await;

    let smtp_env = |env: &mut Vec<(&'static str, String)>| {
        env.push(("SMTP_HOST", "127.0.0.1".into()));
        env.push(("SMTP_PORT", smtp.port().to_string()));
        env.push(("SMTP_SECURITY", "none".into()));
        env.push(("SMTP_USERNAME", "agent".into()));
        env.push(("SMTP_PASSWORD", SMTP_PASSWORD.into()));
        env.push(("FROM_EMAIL", "agent@it.example.com".into()));
    };
    // The API checks configs against the channels it could deliver through:
    // it gets the same settings as the dispatchers, as in the chart.
    let mut env = service_env(&db, &backend, port());
    env.push(("DISPATCHER_ENABLED", "false".into()));
    env.push(("WORKER_POLL_INTERVAL", "0.2".into()));
    smtp_env(&mut env);
    let api = spawn(&env).await;
    let client = reqwest::Client::new();
    let users: Vec<String> = (0..20).map(|i| format!("user{i}@example.com")).collect();
    for user in &users {
        for body in [
            json!({"integration_type": "WEBHOOK", "config": {"url": receiver.url("/hook"), "signing_secret": SECRET}, "retry_delay_seconds": 1}),
            json!({"integration_type": "EMAIL", "config": {"email_address": user}, "retry_delay_seconds": 1}),
        ] {
            let response = client
                .post(api.url(&format!("/api/v1/users/{user}/integrations")))
                .header("x-user-id", user)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        }
    }
    for i in 0..200 {
        let user = &users[i % 20];
        let response = client
            .post(api.url("/api/v1/requests/generic"))
            .header("x-user-id", user)
            .header("prefer", "respond-async")
            .json(&json!({"content": format!("message {i}"), "integration_type": "CLI"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    let conn = connect(&db).await;
    let count = |sql| scalar(&conn, sql);
    let started = Instant::now();
    while count("SELECT count(*) FROM delivery_logs").await < 400 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "answers not all queued"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let dispatcher_env = || {
        let mut env = service_env(&db, &backend, port());
        env.push(("DISPATCH_POLL_INTERVAL", "0.1".into()));
        smtp_env(&mut env);
        env.push(("RUST_LOG", "trace".into()));
        env
    };
    let doomed = spawn_dispatcher(&dispatcher_env()).await;
    let survivor = spawn_dispatcher(&dispatcher_env()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let delivered_before_kill =
        count("SELECT count(*) FROM delivery_logs WHERE status = 'DELIVERED'").await;
    doomed.kill().await;

    let started = Instant::now();
    while count("SELECT count(*) FROM delivery_logs WHERE status = 'DELIVERED'").await < 400 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not all 400 delivered"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        delivered_before_kill < 400,
        "the kill came mid-run ({delivered_before_kill} done)"
    );
    assert_eq!(
        count("SELECT count(*) FROM delivery_logs").await,
        400,
        "one row per (request, integration)"
    );

    // At the receivers: every delivery arrived; a second copy only of what
    // was in flight at the kill, under the same id.
    let requests = receiver.requests().unwrap();
    assert!(
        requests.iter().all(|request| request.verified),
        "every signature verifies"
    );
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for request in &requests {
        *by_id
            .entry(request.header("webhook-id").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(by_id.len(), 200, "200 distinct webhook deliveries");
    let mails = smtp.messages().unwrap();
    let mut by_message_id: HashMap<String, usize> = HashMap::new();
    for mail in &mails {
        *by_message_id
            .entry(mail.header("Message-ID").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(by_message_id.len(), 200, "200 distinct emails");
    let duplicates = (requests.len() - 200) + (mails.len() - 200);
    assert!(
        duplicates <= 16,
        "at most one dispatcher's in-flight attempts again: {duplicates}"
    );
    assert!(
        mails
            .iter()
            .all(|mail| mail.authenticated_as.as_deref() == Some("agent"))
    );

    let (_, logs) = survivor.finish_now().await;
    for secret in [SECRET, &SECRET[6..], SMTP_PASSWORD] {
        assert!(
            !logs.contains(secret),
            "a secret reached the dispatcher's log"
        );
    }
}

/// A `dispatch` process that polls only every minute still delivers an
/// answer stored by a `serve` process at once: storing it announces the
/// delivery with `NOTIFY`, which the dispatcher listens to.
#[tokio::test]
async fn a_separate_dispatcher_is_woken_by_the_answer_not_its_poll() {
    let receiver = InstantReceiver::start().unwrap();
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let mut env = service_env(&db, &backend, port());
    env.push(("DISPATCHER_ENABLED", "false".into()));
    let api = spawn(&env).await;
    let mut env = service_env(&db, &backend, port());
    env.push(("DISPATCH_POLL_INTERVAL", "60".into()));
    let dispatcher = spawn_dispatcher(&env).await;
    let started = Instant::now();
    while !dispatcher
        .logs()
        .contains("listening for deliveries queued elsewhere")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the dispatcher never listened: {}",
            dispatcher.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // the dispatcher's first poll is a minute away from here on

    let client = reqwest::Client::new();
    let user = "alice@example.com";
    let response = client
        .post(api.url(&format!("/api/v1/users/{user}/integrations")))
        .header("x-user-id", user)
        .json(&json!({"integration_type": "WEBHOOK", "config": {"url": receiver.url("/hook"), "signing_secret": SECRET}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let response = common::sync(&client, &api, user, "hello").await;
    assert_eq!(response.status(), 200);

    let conn = connect(&db).await;
    let answered = Instant::now();
    while scalar(
        &conn,
        "SELECT count(*) FROM delivery_logs WHERE status = 'DELIVERED'",
    )
    .await
        < 1
    {
        assert!(
            answered.elapsed() < Duration::from_secs(20),
            "not delivered before the dispatcher's poll (60 s): {}",
            dispatcher.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.count(), 1, "delivered once");
}

async fn spawn_dispatcher(env: &[(&'static str, String)]) -> common::Service {
    common::spawn_command(env, &["dispatch"]).await
}
