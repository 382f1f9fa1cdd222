//! The bodies Slack sends, typed for what the bridge reads.

pub(crate) mod commands;
pub(crate) mod events;
pub(crate) mod interactive;
