//! `users.info` resolves a Slack user to the person: the profile's email,
//! kept for a while, one call for concurrent look-ups of one user.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{ALICE, ALICE_EMAIL, NO_EMAIL_USER, settings};
use slack_bridge::{Lookup, SlackClient, UserDirectory};
use test_support::fake_slack::{BOT_TOKEN, FakeSlack, FakeUser, Fault, TEAM_ID};

fn directory(fake: &FakeSlack, ttl: Duration) -> UserDirectory {
    UserDirectory::new(SlackClient::new(&settings(fake)).unwrap(), ttl)
}

fn fake() -> FakeSlack {
    let fake = FakeSlack::start().unwrap();
    fake.add_user(FakeUser::with_email(ALICE, " Alice.Johnson@Example.COM"));
    fake.add_user(FakeUser::without_email(NO_EMAIL_USER));
    fake
}

#[tokio::test]
async fn the_email_of_the_profile_is_the_identity_lower_cased() {
    let fake = fake();
    let lookup = directory(&fake, Duration::from_secs(60))
        .resolve(Some(TEAM_ID), ALICE)
        .await;
    let Ok(Lookup::Person(identity)) = lookup else {
        panic!("{lookup:?}")
    };
    assert_eq!(identity.email, ALICE_EMAIL);
    assert_eq!(identity.slack_user_id, ALICE);
    assert_eq!(identity.team_id.as_deref(), Some(TEAM_ID));
    let call = &fake.calls_of("users.info")[0];
    assert_eq!(call.body["user"], ALICE);
    assert!(call.bearer_token_valid);
    assert!(!call.headers.contains_key("authorization"));
    assert!(!format!("{call:?}").contains(BOT_TOKEN));
}

#[tokio::test]
async fn a_second_look_up_within_the_ttl_makes_no_call() {
    let fake = fake();
    let directory = directory(&fake, Duration::from_secs(60));
    directory.resolve(None, ALICE).await.unwrap();
    directory.resolve(None, ALICE).await.unwrap();
    assert_eq!(fake.calls_of("users.info").len(), 1);
}

#[tokio::test]
async fn a_look_up_after_the_ttl_asks_again() {
    let fake = fake();
    let directory = directory(&fake, Duration::from_millis(50));
    directory.resolve(None, ALICE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    directory.resolve(None, ALICE).await.unwrap();
    assert_eq!(fake.calls_of("users.info").len(), 2);
}

#[tokio::test]
async fn concurrent_look_ups_of_one_user_share_one_call() {
    let fake = fake();
    fake.fail_next("users.info", 1, Fault::Delay(Duration::from_millis(200)));
    let directory = directory(&fake, Duration::from_secs(60));
    let lookups =
        futures_util::future::join_all((0..8).map(|_| directory.resolve(None, ALICE))).await;
    assert!(
        lookups
            .iter()
            .all(|lookup| matches!(lookup, Ok(Lookup::Person(_)))),
        "{lookups:?}"
    );
    assert_eq!(fake.calls_of("users.info").len(), 1);
}

#[tokio::test]
async fn a_profile_without_an_email_is_no_email() {
    let fake = fake();
    let lookup = directory(&fake, Duration::from_secs(60))
        .resolve(None, NO_EMAIL_USER)
        .await;
    assert_eq!(lookup, Ok(Lookup::NoEmail));
}

#[tokio::test]
async fn user_not_found_is_not_found() {
    let fake = fake();
    let lookup = directory(&fake, Duration::from_secs(60))
        .resolve(None, "UNOBODY001")
        .await;
    assert_eq!(lookup, Ok(Lookup::NotFound));
}

#[tokio::test]
async fn a_deleted_user_is_not_found() {
    let fake = fake();
    fake.add_user(FakeUser {
        deleted: true,
        ..FakeUser::with_email("UGONE00001", "gone@example.com")
    });
    let lookup = directory(&fake, Duration::from_secs(60))
        .resolve(None, "UGONE00001")
        .await;
    assert_eq!(lookup, Ok(Lookup::NotFound));
}

#[tokio::test]
async fn a_failed_look_up_is_not_kept() {
    let fake = fake();
    fake.fail_next("users.info", 1, Fault::Error("internal_error".into()));
    let directory = directory(&fake, Duration::from_secs(60));
    assert!(directory.resolve(None, ALICE).await.is_err());
    assert!(matches!(
        directory.resolve(None, ALICE).await,
        Ok(Lookup::Person(_))
    ));
    assert_eq!(fake.calls_of("users.info").len(), 2);
}
