//! The Web API client against the fake Slack: where messages go, how
//! Slack's refusals come back.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ALICE, GENERAL, settings};
use slack_bridge::{
    Delivered, Destination, OutgoingMessage, PostMessage, ResponseUrl, SlackClient, SlackError,
};
use test_support::fake_slack::{BOT_TOKEN, FakeSlack, FakeUser, Fault};

fn fake() -> FakeSlack {
    let fake = FakeSlack::start().unwrap();
    fake.add_user(FakeUser::with_email(ALICE, "alice@example.com"));
    fake.add_channel(GENERAL);
    fake
}

fn client(fake: &FakeSlack) -> SlackClient {
    SlackClient::new(&settings(fake)).unwrap()
}

fn hello() -> OutgoingMessage {
    OutgoingMessage::text("hello")
}

/// [`hello`] as a top-level message in `channel`.
fn hello_to(channel: &str) -> PostMessage {
    PostMessage {
        channel: channel.into(),
        thread_ts: None,
        message: hello(),
    }
}

/// The next `times` calls of `chat.postMessage` are rate limited, asking
/// for `retry_after_secs`.
fn rate_limit_post_message(fake: &FakeSlack, times: usize, retry_after_secs: u64) {
    fake.fail_next(
        "chat.postMessage",
        times,
        Fault::RateLimited { retry_after_secs },
    );
}

#[tokio::test]
async fn a_reply_goes_into_the_thread_of_its_conversation() {
    let fake = fake();
    let destination = Destination::Conversation {
        channel: GENERAL.into(),
        thread_ts: Some("1700000100.000200".into()),
    };
    let delivered = client(&fake).deliver(&destination, &hello()).await.unwrap();
    let Delivered::Posted(posted) = delivered else {
        panic!("{delivered:?}")
    };
    assert_eq!(posted.channel, GENERAL);
    let messages = fake.messages();
    assert_eq!(messages[0].thread_ts.as_deref(), Some("1700000100.000200"));
    assert_eq!(messages[0].ts, posted.ts);
}

#[tokio::test]
async fn the_token_travels_as_a_bearer_header_never_in_the_body() {
    let fake = fake();
    client(&fake)
        .post_message(&hello_to(GENERAL))
        .await
        .unwrap();
    let call = &fake.calls_of("chat.postMessage")[0];
    assert!(call.bearer_token_valid);
    assert!(call.body.get("token").is_none());
    assert!(call.headers["content-type"].starts_with("application/json"));
}

#[tokio::test]
async fn a_direct_message_is_opened_with_conversations_open() {
    let fake = fake();
    let delivered = client(&fake)
        .deliver(&Destination::DirectMessage { user: ALICE.into() }, &hello())
        .await
        .unwrap();
    assert_eq!(fake.calls_of("conversations.open")[0].body["users"], ALICE);
    let Delivered::Posted(posted) = delivered else {
        panic!("{delivered:?}")
    };
    assert!(posted.channel.starts_with('D'), "{posted:?}");
    assert_eq!(fake.messages()[0].channel, posted.channel);
}

#[tokio::test]
async fn a_short_retry_after_is_waited_for_and_the_call_retried_once() {
    let fake = fake();
    rate_limit_post_message(&fake, 1, 1);
    let started = Instant::now();
    let result = client(&fake).post_message(&hello_to(GENERAL)).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.calls_of("chat.postMessage").len(), 2);
}

#[tokio::test]
async fn a_rate_limit_that_persists_is_reported_with_its_retry_after() {
    let fake = fake();
    rate_limit_post_message(&fake, 2, 1);
    let error = client(&fake)
        .post_message(&hello_to(GENERAL))
        .await
        .unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert!(error.to_string().contains("retry after 1 s"), "{error}");
    assert_eq!(fake.calls_of("chat.postMessage").len(), 2);
}

#[tokio::test]
async fn a_long_retry_after_is_reported_without_waiting() {
    let fake = fake();
    rate_limit_post_message(&fake, 1, 30);
    let started = Instant::now();
    let error = client(&fake)
        .post_message(&hello_to(GENERAL))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(error, SlackError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(30))
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_permanent_invalid_auth() {
    let fake = fake();
    let mut settings = settings(&fake);
    settings.bot_token = "xoxb-wrong".to_owned().into();
    let error = SlackClient::new(&settings)
        .unwrap()
        .post_message(&hello_to(GENERAL))
        .await
        .unwrap_err();
    assert!(error.is_permanent(), "{error}");
    assert_eq!(error.reason(), "invalid_auth");
    assert!(!error.to_string().contains("xoxb-wrong"), "{error}");
}

#[tokio::test]
async fn an_unknown_channel_is_a_permanent_channel_not_found() {
    let fake = fake();
    let error = client(&fake)
        .post_message(&hello_to("CUNKNOWN01"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SlackError::Permanent {
            method: "chat.postMessage".into(),
            reason: "channel_not_found".into()
        }
    );
}

#[tokio::test]
async fn a_server_error_is_temporary() {
    let fake = fake();
    fake.fail_next("chat.postMessage", 1, Fault::Status(503));
    let error = client(&fake)
        .post_message(&hello_to(GENERAL))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SlackError::Temporary { reason, .. } if reason == "HTTP 503"),
        "{error}"
    );
    assert_eq!(error.retry_after(), None);
}

#[tokio::test]
async fn internal_error_is_temporary() {
    let fake = fake();
    fake.fail_next("chat.postMessage", 1, Fault::Error("internal_error".into()));
    let error = client(&fake)
        .post_message(&hello_to(GENERAL))
        .await
        .unwrap_err();
    assert!(matches!(error, SlackError::Temporary { .. }), "{error}");
}

#[tokio::test]
async fn an_unreachable_slack_is_temporary_and_names_no_url() {
    let fake = fake();
    let url = fake.response_url();
    drop(fake);
    let settings =
        slack_bridge::SlackSettings::for_api("http://127.0.0.1:9/api/", BOT_TOKEN, "s").unwrap();
    let error = SlackClient::new(&settings)
        .unwrap()
        .respond(&ResponseUrl(url.clone()), &hello())
        .await
        .unwrap_err();
    assert!(matches!(error, SlackError::Temporary { .. }), "{error}");
    assert!(!error.to_string().contains("/response/"), "{error}");
}

#[tokio::test]
async fn a_response_url_takes_the_answer() {
    let fake = fake();
    let url = fake.response_url();
    let delivered = client(&fake)
        .deliver(
            &Destination::ResponseUrl {
                url: ResponseUrl(url.clone()),
                user: ALICE.into(),
            },
            &hello(),
        )
        .await
        .unwrap();
    assert_eq!(delivered, Delivered::Responded);
    let responses = fake.responses();
    assert_eq!(responses[0].body["text"], "hello");
    assert!(!fake.calls_of("response_url")[0].bearer_token_valid);
}

#[tokio::test]
async fn an_expired_response_url_falls_back_to_a_direct_message() {
    let fake = fake();
    let url = fake.response_url();
    fake.expire_response_url(&url);
    let delivered = client(&fake)
        .deliver(
            &Destination::ResponseUrl {
                url: ResponseUrl(url),
                user: ALICE.into(),
            },
            &hello(),
        )
        .await
        .unwrap();
    assert!(matches!(delivered, Delivered::Posted(_)), "{delivered:?}");
    assert_eq!(fake.calls_of("conversations.open").len(), 1);
    assert_eq!(fake.messages()[0].text.as_deref(), Some("hello"));
}
