//! What the bridge itself says to employees (the agent's answers are laid
//! out in `blocks.rs`). All of it is mrkdwn, with employee text escaped.

use crate::inbox::SessionSummary;
use crate::mrkdwn::escape;

pub(crate) fn help(command: &str) -> String {
    format!(
        "Ask the IT self-service agent anything, e.g. `{command} I need a new laptop`. \
         `{command} reset` starts a new conversation. You can also mention me in a channel \
         or write to me directly."
    )
}

pub(crate) fn working(question: &str) -> String {
    let quoted: String = escape(question)
        .lines()
        .map(|line| format!(">{line}\n"))
        .collect();
    format!("{quoted}:hourglass_flowing_sand: Working on it; the answer will appear here.")
}

pub(crate) fn working_late() -> String {
    ":hourglass_flowing_sand: Working on it; the answer will appear here.".to_owned()
}

pub(crate) const NO_EMAIL: &str = "I could not find an email address in your Slack profile, \
    and the IT self-service agent needs it to know who you are. Please ask your Slack \
    administrator to make your email visible, or contact the IT service desk directly.";

pub(crate) const UNAVAILABLE: &str = ":warning: The IT self-service agent could not take your \
    message just now. Please try again in a minute.";

pub(crate) const RESET: &str =
    "Started a new session: your next message begins a new conversation.";

pub(crate) fn unknown_command(expected: &str, got: &str) -> String {
    format!(
        "This app answers `{}`, not `{}`.",
        escape(expected),
        escape(got)
    )
}

pub(crate) fn no_such_session(session_id: &str) -> String {
    format!("No session `{}` of yours was found.", escape(session_id))
}

pub(crate) fn session(summary: &SessionSummary) -> String {
    let mut lines = vec![
        format!("*Session* `{}`", escape(&summary.session_id)),
        format!("• Status: {}", escape(&summary.status)),
        format!(
            "• Agent: {}",
            summary
                .current_agent
                .as_deref()
                .map(escape)
                .unwrap_or_else(|| "none yet".to_owned())
        ),
        format!("• Requests: {}", summary.total_requests),
    ];
    if let Some(created) = &summary.created_at {
        lines.push(format!("• Started: {}", escape(created)));
    }
    if let Some(updated) = &summary.updated_at {
        lines.push(format!("• Last activity: {}", escape(updated)));
    }
    lines.join("\n")
}
