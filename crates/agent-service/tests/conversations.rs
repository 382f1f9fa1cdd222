//! `GET /api/v1/conversations`: the Python system's filters; users see their
//! own conversations, an administrator (`ADMIN_USERS`) everyone's.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{TestApp, get, json_request};
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const ADMIN: &str = "auditor";
const ADMIN_KEY: &str = "admin-key-0123456789abcdef";

/// Alice: a CLI conversation handed to the laptop agent (two messages) and
/// a WEB one; Bob: one CLI message. The ids of Alice's CLI and WEB sessions.
async fn three_conversations(app: &TestApp) -> (String, String) {
    let send = |user: &str, channel: &str, content: &str| {
        json_request(
            "POST",
            &format!("/api/v1/requests/{channel}"),
            Some(user),
            &json!({"content": content, "integration_type": "CLI"}),
        )
    };
    let (_, cli) = app.call(send(ALICE, "cli", "I need a new laptop")).await;
    app.call(send(ALICE, "cli", "Which models are there?"))
        .await;
    let (_, web) = app.call(send(ALICE, "web", "hello")).await;
    app.call(send(BOB, "cli", "hello")).await;
    (
        cli["session_id"].as_str().unwrap().to_owned(),
        web["session_id"].as_str().unwrap().to_owned(),
    )
}

async fn start() -> TestApp {
    let keys = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(keys.path(), format!("{ADMIN} {ADMIN_KEY}\n")).unwrap();
    let path = keys.into_temp_path().keep().unwrap();
    common::start_with(move |config| {
        config.auth_mode = agent_service::auth::AuthMode::HeaderOrApiKey;
        config.api_keys_file = Some(path);
        config.admin_users = vec![ADMIN.to_owned()];
    })
    .await
}

async fn list(app: &TestApp, user: &str, query: &str) -> Value {
    let (status, body) = app
        .call(get(&format!("/api/v1/conversations{query}"), Some(user)))
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

async fn list_as_admin(app: &TestApp, query: &str) -> Value {
    let request = Request::builder()
        .uri(format!("/api/v1/conversations{query}"))
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = app.call(request).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn session_ids(page: &Value) -> Vec<&str> {
    page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["session_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_user_sees_their_own_conversations_with_their_messages_in_order() {
    let app = start().await;
    let (cli, web) = three_conversations(&app).await;

    let page = list(&app, ALICE, "").await;

    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(page["count"], 2);
    assert_eq!(
        (page["limit"].clone(), page["offset"].clone()),
        (json!(100), json!(0))
    );
    // Most recent first.
    assert_eq!(session_ids(&page), [web.as_str(), cli.as_str()]);
    let conversation = &page["sessions"][1];
    assert_eq!(conversation["user_id"], ALICE);
    assert_eq!(conversation["integration_type"], "CLI");
    assert_eq!(conversation["status"], "ACTIVE");
    assert_eq!(conversation["total_requests"], 2);
    assert_eq!(conversation["current_agent_id"], "laptop-refresh");
    assert_eq!(conversation["integration_types"], json!(["CLI"]));
    let messages = conversation["conversation"].as_array().unwrap();
    let said: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["user_message"].as_str().unwrap(),
                m["agent_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        said,
        [
            ("I need a new laptop", "laptop-refresh"),
            ("Which models are there?", "laptop-refresh")
        ]
    );
    assert_eq!(
        messages[1]["agent_response"],
        "laptop-refresh agent: about 'Which models are there?'"
    );
    assert!(messages[0]["request_id"].is_string() && messages[0]["timestamp"].is_string());
    assert!(messages[0]["completed_at"].is_string());
}

#[tokio::test]
async fn a_user_naming_another_user_is_refused_and_never_sees_their_sessions() {
    let app = start().await;
    three_conversations(&app).await;
    let bobs = list_as_admin(&app, &format!("?user_id={BOB}")).await;
    let bobs_session = session_ids(&bobs)[0].to_owned();

    let (status, refused) = app
        .call(get(
            &format!("/api/v1/conversations?user_id={BOB}"),
            Some(ALICE),
        ))
        .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"], "forbidden");

    let by_id = list(&app, ALICE, &format!("?session_id={bobs_session}")).await;
    assert_eq!(by_id["total"], 0, "{by_id}");
    let by_email = list(&app, ALICE, &format!("?user_email={BOB}")).await;
    assert_eq!(by_email["total"], 0, "{by_email}");
    let own = list(&app, ALICE, &format!("?user_id={ALICE}")).await;
    assert_eq!(own["total"], 2);
}

#[tokio::test]
async fn without_an_identity_the_conversations_are_refused() {
    let app = start().await;

    let (status, body) = app.call(get("/api/v1/conversations", None)).await;

    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn the_admin_key_sees_everyones_and_filters_by_user_id_or_email() {
    let app = start().await;
    three_conversations(&app).await;

    assert_eq!(list_as_admin(&app, "").await["total"], 3);
    let bob = list_as_admin(&app, &format!("?user_id={BOB}")).await;
    assert_eq!(bob["total"], 1);
    assert_eq!(bob["sessions"][0]["user_id"], BOB);
    let alice = list_as_admin(&app, "?user_email=ALICE@Example.com").await;
    assert_eq!(alice["total"], 2, "emails compare without case");
}

#[tokio::test]
async fn session_id_channel_and_agent_filters_select_whole_conversations() {
    let app = start().await;
    let (cli, web) = three_conversations(&app).await;

    let one = list(&app, ALICE, &format!("?session_id={cli}")).await;
    assert_eq!(session_ids(&one), [cli.as_str()]);
    let web_only = list(&app, ALICE, "?integration_type=web").await;
    assert_eq!(session_ids(&web_only), [web.as_str()]);
    let either = list_as_admin(&app, "?integration_types=SLACK&integration_types=WEB").await;
    assert_eq!(session_ids(&either), [web.as_str()]);
    let comma = list_as_admin(&app, "?integration_types=CLI,WEB").await;
    assert_eq!(comma["total"], 3);
    let laptop = list_as_admin(&app, "?agent_id=laptop-refresh").await;
    assert_eq!(session_ids(&laptop), [cli.as_str()]);
    assert_eq!(
        laptop["sessions"][0]["conversation"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "the whole conversation"
    );
    let nobody = list_as_admin(&app, "?agent_id=no-such-agent").await;
    assert_eq!(
        (nobody["total"].clone(), nobody["count"].clone()),
        (json!(0), json!(0))
    );
}

#[tokio::test]
async fn dates_bound_when_the_sessions_began() {
    let app = start().await;
    three_conversations(&app).await;
    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    let iso = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();

    let around = format!(
        "?start_date={}&end_date={}",
        iso(now - hour),
        iso(now + hour)
    );
    assert_eq!(list_as_admin(&app, &around).await["total"], 3);
    let later = format!("?start_date={}", iso(now + hour));
    assert_eq!(list_as_admin(&app, &later).await["total"], 0);
    let earlier = format!("?end_date={}", iso(now - hour));
    assert_eq!(list_as_admin(&app, &earlier).await["total"], 0);
    let naive = format!("?start_date={}", (now - hour).format("%Y-%m-%dT%H:%M:%S"));
    assert_eq!(
        list_as_admin(&app, &naive).await["total"],
        3,
        "no offset: UTC"
    );
}

#[tokio::test]
async fn limit_and_offset_page_through_and_total_counts_every_page() {
    let app = start().await;
    three_conversations(&app).await;
    let all = session_ids(&list_as_admin(&app, "").await)
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();

    let mut paged = Vec::new();
    for offset in 0..3 {
        let page = list_as_admin(&app, &format!("?limit=1&offset={offset}")).await;
        assert_eq!(
            (page["total"].clone(), page["count"].clone()),
            (json!(3), json!(1))
        );
        paged.push(
            page["sessions"][0]["session_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(paged, all);
    let capped = list_as_admin(&app, "?limit=5000").await;
    assert_eq!(capped["limit"], 1000);
    let past = list_as_admin(&app, "?offset=10").await;
    assert_eq!(
        (past["total"].clone(), past["count"].clone()),
        (json!(3), json!(0))
    );
}

#[tokio::test]
async fn random_samples_and_include_messages_false_leaves_the_messages_out() {
    let app = start().await;
    three_conversations(&app).await;

    let sample = list_as_admin(&app, "?random=true&limit=2").await;
    assert_eq!(
        (sample["total"].clone(), sample["count"].clone()),
        (json!(3), json!(2))
    );
    let bare = list_as_admin(&app, "?include_messages=false").await;
    for session in bare["sessions"].as_array().unwrap() {
        assert!(session.get("conversation").is_none(), "{session}");
        assert_eq!(
            session["integration_types"],
            json!([session["integration_type"]])
        );
    }
}

#[tokio::test]
async fn bad_filters_are_refused_naming_the_parameter() {
    let app = start().await;
    let cases = [
        ("?integration_type=FAX", "integration_type"),
        (
            "?integration_types=CLI&integration_types=FAX",
            "integration_types",
        ),
        ("?start_date=yesterday", "start_date"),
        ("?end_date=2026-13-01", "end_date"),
        ("?limit=ten", "limit"),
        ("?offset=-1", "offset"),
        ("?random=maybe", "random"),
        ("?include_messages=2", "include_messages"),
        ("?colour=blue", "colour"),
        ("?limit=1&limit=2", "limit"),
    ];
    for (query, parameter) in cases {
        let (status, body) = app
            .call(get(&format!("/api/v1/conversations{query}"), Some(ALICE)))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["detail"].as_str().unwrap().starts_with(parameter),
            "{query}: {body}"
        );
    }
}
