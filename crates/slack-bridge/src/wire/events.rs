//! Events API bodies (`POST /slack/events`, JSON): the `url_verification`
//! handshake and `event_callback` envelopes around `app_mention` and
//! `message` (in an `im`) events. Fields not read here are ignored, so
//! what Slack adds later does not break parsing.

use serde::Deserialize;

use crate::inbox::{Destination, Origin};

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    authorizations: Vec<Authorization>,
    #[serde(default)]
    event: Option<Event>,
}

#[derive(Debug, Deserialize)]
struct Authorization {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    is_bot: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    subtype: Option<String>,
    user: Option<String>,
    bot_id: Option<String>,
    bot_profile: Option<serde_json::Value>,
    edited: Option<serde_json::Value>,
    text: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    channel: Option<String>,
    channel_type: Option<String>,
    team: Option<String>,
}

/// A parsed Events API body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EventsBody {
    UrlVerification {
        challenge: String,
    },
    Callback(EventCallback),
    /// `app_rate_limited`: Slack is dropping events for this app.
    RateLimited,
    /// Another envelope type; acknowledged and left alone.
    Other(String),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EventCallback {
    pub event_id: String,
    pub team_id: Option<String>,
    pub content: Result<InboundEvent, Ignored>,
}

/// A message for the agent, as the event carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InboundEvent {
    pub origin: Origin,
    pub user: String,
    pub channel: String,
    pub text: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub team: Option<String>,
}

impl InboundEvent {
    /// A mention is answered in its thread (the one it started, if none);
    /// a direct message in the conversation, in a thread only if it was.
    pub fn destination(&self) -> Destination {
        let thread_ts = match self.origin {
            Origin::Mention => Some(self.thread_ts.clone().unwrap_or_else(|| self.ts.clone())),
            _ => self.thread_ts.clone(),
        };
        Destination::Conversation {
            channel: self.channel.clone(),
            thread_ts,
        }
    }
}

/// Why an event is acknowledged without going to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ignored {
    /// Written by a bot (this app's own answers included).
    Bot,
    /// An edit, a deletion, a join and the like.
    Subtype(String),
    /// An event type other than `app_mention` and `message`.
    OtherType(String),
    /// A `message` outside a direct-message conversation.
    NotDirect,
    /// A mention inside a direct message (its `message` event is the one answered).
    MentionInDirectMessage,
    /// Nothing left to say once the mention is taken out.
    Empty,
    /// Without a user, channel or `ts`.
    Incomplete,
}

pub(crate) fn parse(body: &[u8]) -> Result<EventsBody, serde_json::Error> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    Ok(match envelope.kind.as_str() {
        "url_verification" => EventsBody::UrlVerification {
            challenge: envelope.challenge.unwrap_or_default(),
        },
        "app_rate_limited" => EventsBody::RateLimited,
        "event_callback" => {
            let bot_users: Vec<String> = envelope
                .authorizations
                .iter()
                .filter(|authorization| authorization.is_bot)
                .filter_map(|authorization| authorization.user_id.clone())
                .collect();
            let content = match envelope.event {
                Some(event) => classify(event, &bot_users),
                None => Err(Ignored::Incomplete),
            };
            EventsBody::Callback(EventCallback {
                event_id: envelope.event_id.unwrap_or_default(),
                team_id: envelope.team_id,
                content,
            })
        }
        other => EventsBody::Other(other.to_owned()),
    })
}

fn classify(event: Event, bot_users: &[String]) -> Result<InboundEvent, Ignored> {
    let origin = match event.kind.as_str() {
        "app_mention" => Origin::Mention,
        "message" => Origin::DirectMessage,
        other => return Err(Ignored::OtherType(other.to_owned())),
    };
    if event.bot_id.is_some()
        || event.bot_profile.is_some()
        || event
            .user
            .as_ref()
            .is_some_and(|user| bot_users.contains(user))
    {
        return Err(Ignored::Bot);
    }
    if let Some(subtype) = event.subtype {
        return Err(Ignored::Subtype(subtype));
    }
    if event.edited.is_some() {
        return Err(Ignored::Subtype("message_changed".into()));
    }
    let (Some(user), Some(channel), Some(ts)) = (event.user, event.channel, event.ts) else {
        return Err(Ignored::Incomplete);
    };
    match origin {
        Origin::DirectMessage if event.channel_type.as_deref() != Some("im") => {
            return Err(Ignored::NotDirect);
        }
        // Direct-message conversation ids start with D.
        Origin::Mention if channel.starts_with('D') => {
            return Err(Ignored::MentionInDirectMessage);
        }
        _ => {}
    }
    let raw = event.text.unwrap_or_default();
    let text = match origin {
        Origin::Mention => strip_mentions(&raw, bot_users),
        _ => raw.trim().to_owned(),
    };
    if text.is_empty() {
        return Err(Ignored::Empty);
    }
    Ok(InboundEvent {
        origin,
        user,
        channel,
        text,
        ts,
        thread_ts: event.thread_ts,
        team: event.team,
    })
}

/// Takes the bot's `<@U…>` (or `<@U…|name>`) mentions out of `text`. When
/// the envelope named no bot user, the mention the text starts with is
/// the bot's (an `app_mention` always mentions it).
pub(crate) fn strip_mentions(text: &str, bot_users: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut first = true;
    while let Some(start) = rest.find("<@") {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let inner = &rest[start + 2..start + end];
        let id = inner.split('|').next().unwrap_or_default();
        let leading = first && rest[..start].trim().is_empty() && out.trim().is_empty();
        let is_bot = bot_users.iter().any(|bot| bot == id) || (bot_users.is_empty() && leading);
        out.push_str(&rest[..start]);
        if !is_bot {
            out.push_str(&rest[start..=start + end]);
        }
        rest = &rest[start + end + 1..];
        first = false;
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bots_mention_is_taken_out_wherever_it_is() {
        let bots = ["UBOT".to_owned()];
        assert_eq!(
            strip_mentions("<@UBOT> I need a laptop", &bots),
            "I need a laptop"
        );
        assert_eq!(
            strip_mentions("hey <@UBOT|it-bot>, help", &bots),
            "hey , help"
        );
        assert_eq!(
            strip_mentions("<@UBOT> ask <@U2> too", &bots),
            "ask <@U2> too"
        );
    }

    #[test]
    fn without_authorizations_the_leading_mention_is_the_bots() {
        assert_eq!(strip_mentions("<@UX>  hello <@U2>", &[]), "hello <@U2>");
    }

    #[test]
    fn a_mention_is_answered_in_the_thread_it_starts() {
        let event = InboundEvent {
            origin: Origin::Mention,
            user: "U1".into(),
            channel: "C1".into(),
            text: "hi".into(),
            ts: "1.2".into(),
            thread_ts: None,
            team: None,
        };
        assert_eq!(
            event.destination(),
            Destination::Conversation {
                channel: "C1".into(),
                thread_ts: Some("1.2".into())
            }
        );
    }
}
