//! An agent's answer as Block Kit within Slack's limits, accepted by the
//! fake Slack (which refuses what Slack would).

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use common::{GENERAL, settings};
use slack_bridge::{
    Answer, Block, FALLBACK_TEXT_LIMIT, MESSAGE_BLOCK_LIMIT, OutgoingMessage, PostMessage,
    SECTION_TEXT_LIMIT, SlackClient, TextObject, answer_message, slack_len,
};
use test_support::fake_slack::FakeSlack;

fn sections(message: &OutgoingMessage) -> Vec<String> {
    message
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Section {
                text: TextObject::Mrkdwn { text },
            } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn answer(content: &str) -> OutgoingMessage {
    answer_message(&Answer {
        content,
        agent: Some("laptop-refresh"),
        session_id: "sess-1",
    })
}

/// Paragraphs of numbered words, `chars` characters in all (about).
fn long_text(chars: usize) -> String {
    let mut text = String::new();
    let mut word = 0;
    while text.len() < chars {
        word += 1;
        text.push_str(&format!("word{word}"));
        text.push(if word % 40 == 0 { '\n' } else { ' ' });
        if word % 200 == 0 {
            text.push('\n');
        }
    }
    text
}

#[test]
fn a_ten_thousand_character_answer_is_split_into_sections_under_the_limit() {
    let content = long_text(10_000);
    let message = answer(&content);
    let sections = sections(&message);
    assert!(sections.len() >= 4, "{}", sections.len());
    assert!(sections.iter().all(|s| slack_len(s) <= SECTION_TEXT_LIMIT));
    let words = |text: &str| {
        text.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        words(&sections.join("\n")),
        words(&content),
        "no word lost or split"
    );
}

#[test]
fn sections_are_cut_at_paragraphs_when_there_are_some() {
    let paragraph = "x".repeat(1_000);
    let content = [paragraph.as_str(); 6].join("\n\n");
    let sections = sections(&answer(&content));
    assert_eq!(sections, vec![format!("{paragraph}\n\n{paragraph}"); 3]);
}

#[test]
fn multi_byte_text_is_never_cut_inside_a_character_and_is_counted_in_utf16() {
    // 🖥 is two UTF-16 units; é one; no spaces, so cuts fall between characters.
    let content = "é🖥".repeat(2_500);
    let sections = sections(&answer(&content));
    assert!(sections.len() >= 3, "{}", sections.len());
    assert!(sections.iter().all(|s| slack_len(s) <= SECTION_TEXT_LIMIT));
    assert_eq!(sections.concat(), content);
}

#[test]
fn a_huge_answer_stops_at_fifty_blocks_and_says_what_was_left_out() {
    let content = long_text(200_000);
    let message = answer(&content);
    assert_eq!(message.blocks.len(), MESSAGE_BLOCK_LIMIT);
    let sections = sections(&message);
    assert!(
        sections.last().unwrap().contains("more characters"),
        "{:?}",
        sections.last()
    );
    assert!(matches!(
        message.blocks[MESSAGE_BLOCK_LIMIT - 2],
        Block::Context { .. }
    ));
    assert!(matches!(
        message.blocks[MESSAGE_BLOCK_LIMIT - 1],
        Block::Actions { .. }
    ));
    assert!(slack_len(&message.text) <= FALLBACK_TEXT_LIMIT);
}

#[test]
fn markdown_of_the_answer_becomes_mrkdwn() {
    let message =
        answer("# Laptop refresh\n- **Dell** Latitude: [order](https://it.example.com/o)");
    assert_eq!(
        sections(&message),
        vec!["*Laptop refresh*\n• *Dell* Latitude: <https://it.example.com/o|order>"]
    );
}

#[tokio::test]
async fn the_fake_slack_takes_a_huge_answer_and_refuses_an_oversized_section() {
    let fake = FakeSlack::start().unwrap();
    fake.add_channel(GENERAL);
    let client = SlackClient::new(&settings(&fake)).unwrap();
    let post = |message: OutgoingMessage| PostMessage {
        channel: GENERAL.into(),
        thread_ts: None,
        message,
    };
    client
        .post_message(&post(answer(&long_text(200_000))))
        .await
        .unwrap();
    let oversized = OutgoingMessage {
        text: "x".into(),
        blocks: vec![Block::Section {
            text: TextObject::Mrkdwn {
                text: "x".repeat(3_001),
            },
        }],
    };
    let error = client.post_message(&post(oversized)).await.unwrap_err();
    assert_eq!(error.reason(), "invalid_blocks");
}
