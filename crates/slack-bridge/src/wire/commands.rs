//! Slash command bodies (`POST /slack/commands`,
//! `application/x-www-form-urlencoded`).

use serde::Deserialize;

/// The fields of a slash command the bridge uses; others are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct SlashCommand {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    pub channel_id: String,
    #[serde(default)]
    pub team_id: Option<String>,
    pub response_url: String,
    #[serde(default)]
    pub trigger_id: Option<String>,
}

/// What the command's text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommandText {
    /// Nothing: the command's usage is shown.
    Help,
    /// `reset`: a new session.
    Reset,
    /// A message for the agent.
    Message(String),
}

impl SlashCommand {
    pub fn intent(&self) -> CommandText {
        let text = self.text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("help") {
            CommandText::Help
        } else if text.eq_ignore_ascii_case("reset") {
            CommandText::Reset
        } else {
            CommandText::Message(text.to_owned())
        }
    }
}

pub(crate) fn parse(body: &[u8]) -> Result<SlashCommand, serde_urlencoded::de::Error> {
    serde_urlencoded::from_bytes(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str) -> SlashCommand {
        SlashCommand {
            command: "/it-help".into(),
            text: text.into(),
            user_id: "U1".into(),
            channel_id: "C1".into(),
            team_id: None,
            response_url: "https://hooks.slack.com/commands/1".into(),
            trigger_id: None,
        }
    }

    #[test]
    fn reset_and_help_are_words_of_their_own() {
        assert_eq!(command(" RESET ").intent(), CommandText::Reset);
        assert_eq!(command("").intent(), CommandText::Help);
        assert_eq!(
            command("reset my password").intent(),
            CommandText::Message("reset my password".into())
        );
    }

    #[test]
    fn a_form_body_parses_with_plus_as_space() {
        let body = b"command=%2Fit-help&text=new+laptop&user_id=U1&channel_id=C1&response_url=https%3A%2F%2Fhooks.slack.com%2Fx&trigger_id=1.2.3&team_id=T1&token=old";
        let parsed = parse(body).unwrap();
        assert_eq!(parsed.command, "/it-help");
        assert_eq!(parsed.text, "new laptop");
        assert_eq!(parsed.response_url, "https://hooks.slack.com/x");
    }
}
