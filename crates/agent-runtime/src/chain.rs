//! Where each agent's conversation stands on the server: the id of its last
//! response in this session. The next turn of that agent continues the
//! chain with `previous_response_id`; an agent without one starts a new
//! chain, told who is asking.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{agent name: last response id}` of one session. The service keeps it
/// in the session row (`conversation_context.responses`) and passes it
/// back on the next turn; a turn returns the entries it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Chains(BTreeMap<String, String>);

impl Chains {
    /// The last response of `agent`'s chain.
    pub fn last(&self, agent: &str) -> Option<&str> {
        self.0
            .get(agent)
            .map(String::as_str)
            .filter(|id| !id.is_empty())
    }

    /// `agent`'s chain now ends at `response_id`.
    pub fn advance(&mut self, agent: &str, response_id: &str) {
        self.0.insert(agent.to_owned(), response_id.to_owned());
    }

    /// Forgets `agent`'s chain (the server lost it): its next turn starts a
    /// new one. Kept as an empty id, so that merging these changes into
    /// the stored chains forgets it there too.
    pub fn forget(&mut self, agent: &str) {
        self.0.insert(agent.to_owned(), String::new());
    }

    /// Applies `changes` (a turn's) on top of these.
    pub fn merge(&mut self, changes: &Chains) {
        for (agent, id) in &changes.0 {
            self.0.insert(agent.clone(), id.clone());
        }
    }

    /// The agents with a chain, and its last response.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .filter(|(_, id)| !id.is_empty())
            .map(|(agent, id)| (agent.as_str(), id.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_round_trips_as_a_plain_json_object() {
        let mut chains = Chains::default();
        chains.advance("routing-agent", "resp_1");
        chains.advance("laptop-refresh", "resp_2");
        let json = serde_json::to_value(&chains).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({"laptop-refresh": "resp_2", "routing-agent": "resp_1"})
        );
        let back: Chains = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, chains);
    }

    #[test]
    fn merging_keeps_other_agents_and_overrides_changed_ones() {
        let mut stored = Chains::default();
        stored.advance("a", "resp_1");
        stored.advance("b", "resp_2");
        let mut changes = Chains::default();
        changes.advance("b", "resp_3");
        stored.merge(&changes);
        assert_eq!(stored.last("a"), Some("resp_1"));
        assert_eq!(stored.last("b"), Some("resp_3"));
    }

    #[test]
    fn a_forgotten_chain_is_forgotten_where_the_changes_are_merged() {
        let mut stored = Chains::default();
        stored.advance("a", "resp_1");
        let mut changes = Chains::default();
        changes.forget("a");
        stored.merge(&changes);
        assert_eq!(stored.last("a"), None);
        assert_eq!(stored.iter().count(), 0);
    }
}
