//! An agent's answer as one Block Kit message: the text in mrkdwn section
//! blocks, a context block naming the agent, and the two session buttons.
//! Within Slack's limits: a section's text at most 3000 characters, at
//! most 50 blocks, the `text` fallback at most 40 000 characters. Lengths
//! are counted in UTF-16 units, never fewer than Slack's characters.

use serde::{Deserialize, Serialize};

use crate::mrkdwn::{escape, to_mrkdwn};

pub const SECTION_TEXT_LIMIT: usize = 3000;
pub const MESSAGE_BLOCK_LIMIT: usize = 50;
pub const FALLBACK_TEXT_LIMIT: usize = 40_000;
/// The buttons' `action_id`s and their block's `block_id`.
pub const NEW_SESSION_ACTION: &str = "ssa_new_session";
pub const VIEW_SESSION_ACTION: &str = "ssa_view_session";
pub const ACTIONS_BLOCK_ID: &str = "ssa_session_actions";

/// Room kept in a section for a code fence closed or reopened at a split.
const FENCE_ROOM: usize = 8;

/// Slack text length: UTF-16 code units.
pub fn slack_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextObject {
    Mrkdwn { text: String },
    PlainText { text: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    #[serde(rename = "type")]
    pub kind: String,
    pub action_id: String,
    pub text: TextObject,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Section {
        text: TextObject,
    },
    Context {
        elements: Vec<TextObject>,
    },
    Actions {
        block_id: String,
        elements: Vec<Button>,
    },
}

/// A message as `chat.postMessage` and a `response_url` take it (less
/// its destination).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The notification and fallback text.
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
}

impl OutgoingMessage {
    /// A message of plain mrkdwn `text` (already escaped), no blocks.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            blocks: Vec::new(),
        }
    }
}

/// An agent's answer, as the dispatcher has it.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The answer, in the Markdown the agent wrote.
    pub content: &'a str,
    /// The agent that answered.
    pub agent: Option<&'a str>,
    /// The session it belongs to (the buttons' value).
    pub session_id: &'a str,
}

/// `answer` as one message within Slack's limits. An answer longer than
/// 47 sections ends with a section saying how much was left out.
pub fn answer_message(answer: &Answer<'_>) -> OutgoingMessage {
    let text = to_mrkdwn(answer.content.trim());
    let text = if text.trim().is_empty() {
        "_(The agent gave an empty answer.)_".to_owned()
    } else {
        text
    };
    let mut sections = split_sections(&text, SECTION_TEXT_LIMIT);
    let room = MESSAGE_BLOCK_LIMIT - 2;
    if sections.len() > room {
        let kept = room - 1;
        let left_out: usize = sections[kept..].iter().map(|s| s.chars().count()).sum();
        sections.truncate(kept);
        sections.push(format!(
            "_… {left_out} more characters of this answer do not fit in one Slack message._"
        ));
    }
    let mut blocks: Vec<Block> = sections
        .into_iter()
        .map(|text| Block::Section {
            text: TextObject::Mrkdwn { text },
        })
        .collect();
    let agent = answer
        .agent
        .map(|agent| format!("Answered by *{}*", escape(agent)))
        .unwrap_or_else(|| "Answered by the IT self-service agent".to_owned());
    blocks.push(Block::Context {
        elements: vec![TextObject::Mrkdwn { text: agent }],
    });
    blocks.push(Block::Actions {
        block_id: ACTIONS_BLOCK_ID.to_owned(),
        elements: vec![
            button(NEW_SESSION_ACTION, "New session", answer.session_id),
            button(VIEW_SESSION_ACTION, "View session", answer.session_id),
        ],
    });
    OutgoingMessage {
        text: truncate(&text, FALLBACK_TEXT_LIMIT),
        blocks,
    }
}

fn button(action_id: &str, label: &str, session_id: &str) -> Button {
    Button {
        kind: "button".to_owned(),
        action_id: action_id.to_owned(),
        text: TextObject::PlainText {
            text: label.to_owned(),
        },
        value: session_id.to_owned(),
    }
}

/// `text` cut to at most `limit` (with an ellipsis) at a character boundary.
fn truncate(text: &str, limit: usize) -> String {
    if slack_len(text) <= limit {
        return text.to_owned();
    }
    let end = prefix_within(text, limit - 1);
    format!("{}…", &text[..end])
}

/// The byte length of the longest prefix of `text` within `limit` units.
fn prefix_within(text: &str, limit: usize) -> usize {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            return index;
        }
    }
    text.len()
}

/// `text` in pieces of at most `limit` units, cut at a paragraph break if
/// there is one in the piece, else at a line break, else at a space (not
/// inside a `<…>` link), else between two characters. A code fence open
/// at a cut is closed there and reopened in the next piece.
pub fn split_sections(text: &str, limit: usize) -> Vec<String> {
    let budget = limit.saturating_sub(FENCE_ROOM).max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if slack_len(rest) <= budget {
            pieces.push(rest.to_owned());
            break;
        }
        let first = rest.chars().next().map_or(0, char::len_utf8);
        let window = &rest[..prefix_within(rest, budget).max(first)];
        let (cut, skip) = cut_point(window);
        let piece = rest[..cut].trim_end_matches([' ', '\n']);
        if !piece.is_empty() {
            pieces.push(piece.to_owned());
        }
        rest = rest[cut + skip..].trim_start_matches('\n');
    }
    balance_fences(pieces)
}

/// Where to cut `window`, and how many bytes of separator to drop there.
fn cut_point(window: &str) -> (usize, usize) {
    if let Some(at) = window.rfind("\n\n").filter(|at| *at > 0) {
        return (at, 2);
    }
    if let Some(at) = window.rfind('\n').filter(|at| *at > 0) {
        return (at, 1);
    }
    let mut open_link = false;
    let mut last_space = None;
    for (index, c) in window.char_indices() {
        match c {
            '<' => open_link = true,
            '>' => open_link = false,
            ' ' | '\t' if !open_link && index > 0 => last_space = Some(index),
            _ => {}
        }
    }
    match last_space {
        Some(at) => (at, 1),
        None => (window.len(), 0),
    }
}

fn balance_fences(pieces: Vec<String>) -> Vec<String> {
    let mut open = false;
    pieces
        .into_iter()
        .map(|piece| {
            let mut balanced = String::with_capacity(piece.len() + FENCE_ROOM);
            if open {
                balanced.push_str("```\n");
            }
            balanced.push_str(&piece);
            let fences = piece.matches("```").count();
            open ^= fences % 2 == 1;
            if open {
                balanced.push_str("\n```");
            }
            balanced
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_answer_is_one_section_a_context_and_the_buttons() {
        let message = answer_message(&Answer {
            content: "**Done.**",
            agent: Some("laptop-refresh"),
            session_id: "s-1",
        });
        assert_eq!(message.blocks.len(), 3);
        assert_eq!(message.text, "*Done.*");
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["blocks"][0]["text"]["type"], "mrkdwn");
        assert_eq!(
            json["blocks"][1]["elements"][0]["text"],
            "Answered by *laptop-refresh*"
        );
        assert_eq!(
            json["blocks"][2]["elements"][0]["action_id"],
            NEW_SESSION_ACTION
        );
        assert_eq!(json["blocks"][2]["elements"][1]["value"], "s-1");
    }

    #[test]
    fn paragraphs_are_preferred_over_lines_as_cut_points() {
        let text = format!("{}\n\n{}\nshort", "a".repeat(20), "b".repeat(10));
        assert_eq!(
            split_sections(&text, 40),
            vec!["a".repeat(20), format!("{}\nshort", "b".repeat(10))]
        );
    }

    #[test]
    fn a_fence_open_at_a_cut_is_closed_and_reopened() {
        let text = format!("```\n{}\n{}\n```", "x".repeat(30), "y".repeat(30));
        let pieces = split_sections(&text, 50);
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert!(pieces[0].ends_with("\n```"), "{pieces:?}");
        assert!(pieces[1].starts_with("```\n"), "{pieces:?}");
    }

    #[test]
    fn a_link_is_not_cut_at_its_spaces() {
        // The first 30 units end inside the link, after a space of its label.
        let text = "see <https://x.example/a|a label> and more words after it";
        let pieces = split_sections(text, 30 + FENCE_ROOM);
        assert_eq!(pieces[0], "see");
        assert!(
            pieces
                .iter()
                .all(|p| p.matches('<').count() == p.matches('>').count()),
            "{pieces:?}"
        );
    }
}
