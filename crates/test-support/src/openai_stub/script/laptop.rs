//! The laptop refresh journey of [`Script::LaptopRefresh`](super::Script):
//! one step per inference, chosen from the tool results of the turn so far.

use serde_json::json;

use super::conversation::field;
use super::{Answer, Conversation, ToolCall};

/// The employee-info server's tool (`docs/mcp-servers.md`).
pub const GET_EMPLOYEE_LAPTOP_INFO: &str = "get_employee_laptop_info";
/// The snow server's tool that opens a ticket.
pub const OPEN_LAPTOP_REFRESH_TICKET: &str = "open_laptop_refresh_ticket";
/// The `file_search` tool as LlamaStack 0.2.18 offers it to the model (its
/// RAG tool, `builtin::rag/knowledge_search`).
pub const KNOWLEDGE_SEARCH: &str = "knowledge_search";
/// The `file_search` tool as LlamaStack 0.7.3 and OGX offer it.
pub const FILE_SEARCH: &str = "file_search";
/// The names the `file_search` tool goes by.
const SEARCH_TOOLS: [&str; 2] = [KNOWLEDGE_SEARCH, FILE_SEARCH];
/// The `preferred_model` when no knowledge search result names one.
pub const FALLBACK_MODEL: &str = "Standard business laptop";

/// The next step, or `None` when the journey does not apply (the tools are
/// not offered, or the user asks for something else).
pub(super) fn next(employee_id: &str, conversation: &Conversation) -> Option<Answer> {
    if !conversation.offers(GET_EMPLOYEE_LAPTOP_INFO)
        || !conversation.offers(OPEN_LAPTOP_REFRESH_TICKET)
        || !asks_for_a_new_laptop(&conversation.last_user)
    {
        return None;
    }
    let call =
        |name: &str, arguments| Some(Answer::ToolCalls(vec![ToolCall::new(name, arguments)]));
    let Some(info) = conversation.result_of(GET_EMPLOYEE_LAPTOP_INFO) else {
        return call(
            GET_EMPLOYEE_LAPTOP_INFO,
            json!({"employee_id": employee_id}),
        );
    };
    let info = info.text.as_str();
    let catalogue = SEARCH_TOOLS
        .iter()
        .find_map(|tool| conversation.result_of(tool));
    let search = SEARCH_TOOLS.iter().find(|tool| conversation.offers(tool));
    if let (None, Some(search)) = (catalogue, search) {
        let region = field(info, "Employee Location").unwrap_or("my region");
        return call(
            search,
            json!({"query": format!("laptop models offered in {region}")}),
        );
    }
    let Some(ticket) = conversation.result_of(OPEN_LAPTOP_REFRESH_TICKET) else {
        let preferred_model = catalogue
            .and_then(|result| first_model(&result.text))
            .unwrap_or(FALLBACK_MODEL);
        return call(
            OPEN_LAPTOP_REFRESH_TICKET,
            json!({
                "employee_id": employee_id,
                "employee_name": field(info, "Employee Name").unwrap_or("the employee"),
                "business_justification": justification(info),
                "preferred_model": preferred_model,
            }),
        );
    };
    Some(Answer::Text(match field(&ticket.text, "Ticket Number") {
        Some(number) => format!(
            "Your laptop refresh request is open: ticket {number}. The IT hardware team \
             will contact you about the delivery."
        ),
        None => format!("I could not open a laptop refresh ticket: {}", ticket.text),
    }))
}

fn asks_for_a_new_laptop(message: &str) -> bool {
    let message = message.to_lowercase();
    message.contains("laptop")
        && ["new", "refresh", "replace"]
            .iter()
            .any(|word| message.contains(word))
}

fn justification(info: &str) -> String {
    match (field(info, "Laptop Model"), field(info, "Laptop Age")) {
        (Some(model), Some(age)) => {
            format!("The current laptop ({model}) is {age} old and due for a refresh.")
        }
        _ => "The current laptop is due for a refresh.".to_owned(),
    }
}

/// The first laptop model a catalogue text names: a `Model: <name>` line
/// (the Python system's catalogues) or a `- <name> (<specification>)` item
/// (`assets/config/knowledge_bases/laptop-refresh/catalog/`).
fn first_model(text: &str) -> Option<&str> {
    text.lines().find_map(|line| {
        let line = line.trim();
        if let Some(model) = line.strip_prefix("Model:") {
            return Some(model.trim()).filter(|model| !model.is_empty());
        }
        let item = line.strip_prefix("- ")?;
        let (model, _) = item.split_once(" (")?;
        Some(model.trim()).filter(|model| !model.is_empty())
    })
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::{Value, json};

    use super::*;

    pub(crate) fn journey_tools() -> Vec<Value> {
        [
            KNOWLEDGE_SEARCH,
            GET_EMPLOYEE_LAPTOP_INFO,
            OPEN_LAPTOP_REFRESH_TICKET,
        ]
        .iter()
        .map(|name| json!({"type": "function", "function": {"name": name, "parameters": {}}}))
        .collect()
    }

    const INFO: &str = "Employee Name: Alice Johnson\nEmployee ID: 1001\n\
        Employee Location: EMEA\nLaptop Model: Dell Latitude 7420\nLaptop Age: 5 years and 2 months";
    const CATALOGUE: &str = "knowledge_search tool found 1 chunks:\nContent: Standard office use\n\
        - Dell Latitude 7450 (14\", 16 GB memory), Windows 11\n";
    const TICKET: &str =
        "ServiceNow Ticket Created Successfully!\n\nTicket Number: REQ0010001\nStatus: Open";

    /// The conversation after the model called `done` in turn, each
    /// answered with its text.
    fn after(done: &[(&str, &str)]) -> Conversation {
        let mut messages = vec![
            json!({"role": "system", "content": "You help employees."}),
            json!({"role": "user", "content": "I need a new laptop"}),
        ];
        for (i, (tool, text)) in done.iter().enumerate() {
            messages.push(json!({"role": "assistant", "content": "", "tool_calls": [
                {"id": format!("c{i}"), "type": "function",
                 "function": {"name": tool, "arguments": "{}"}}]}));
            messages.push(json!({"role": "tool", "content": [{"type": "text", "text": text}]}));
        }
        Conversation::read(&messages, &journey_tools())
    }

    fn single_call(answer: Option<Answer>) -> ToolCall {
        match answer {
            Some(Answer::ToolCalls(calls)) if calls.len() == 1 => calls.into_iter().next().unwrap(),
            other => panic!("expected one tool call, got {other:?}"),
        }
    }

    #[test]
    fn the_journey_starts_with_the_employee_info_for_the_given_id() {
        let first = single_call(next("", &after(&[])));
        assert_eq!(first.name, GET_EMPLOYEE_LAPTOP_INFO);
        assert_eq!(first.arguments, json!({"employee_id": ""}));
        let injected = single_call(next("1002", &after(&[])));
        assert_eq!(injected.arguments, json!({"employee_id": "1002"}));
    }

    #[test]
    fn the_catalogue_of_the_employees_region_is_searched_next() {
        let search = single_call(next("", &after(&[(GET_EMPLOYEE_LAPTOP_INFO, INFO)])));
        assert_eq!(search.name, KNOWLEDGE_SEARCH);
        assert_eq!(
            search.arguments,
            json!({"query": "laptop models offered in EMEA"})
        );
    }

    #[test]
    fn the_catalogue_is_searched_under_the_name_the_server_gives_file_search() {
        let mut conversation = after(&[(GET_EMPLOYEE_LAPTOP_INFO, INFO)]);
        conversation.offered = vec![
            GET_EMPLOYEE_LAPTOP_INFO.into(),
            OPEN_LAPTOP_REFRESH_TICKET.into(),
            FILE_SEARCH.into(),
        ];
        let search = single_call(next("", &conversation));
        assert_eq!(search.name, FILE_SEARCH);
        let open = single_call(next(
            "",
            &after(&[(GET_EMPLOYEE_LAPTOP_INFO, INFO), (FILE_SEARCH, CATALOGUE)]),
        ));
        assert_eq!(open.name, OPEN_LAPTOP_REFRESH_TICKET);
        assert_eq!(open.arguments["preferred_model"], "Dell Latitude 7450");
    }

    #[test]
    fn the_ticket_names_the_employee_and_the_first_catalogue_model() {
        let open = single_call(next(
            "",
            &after(&[
                (GET_EMPLOYEE_LAPTOP_INFO, INFO),
                (KNOWLEDGE_SEARCH, CATALOGUE),
            ]),
        ));
        assert_eq!(open.name, OPEN_LAPTOP_REFRESH_TICKET);
        assert_eq!(open.arguments["employee_id"], "");
        assert_eq!(open.arguments["employee_name"], "Alice Johnson");
        assert_eq!(open.arguments["preferred_model"], "Dell Latitude 7450");
        assert!(
            open.arguments["business_justification"]
                .as_str()
                .unwrap()
                .contains("5 years and 2 months")
        );
    }

    #[test]
    fn the_final_answer_quotes_the_ticket_number() {
        let done = after(&[
            (GET_EMPLOYEE_LAPTOP_INFO, INFO),
            (KNOWLEDGE_SEARCH, CATALOGUE),
            (OPEN_LAPTOP_REFRESH_TICKET, TICKET),
        ]);
        let Some(Answer::Text(text)) = next("", &done) else {
            panic!("expected text");
        };
        assert!(text.contains("ticket REQ0010001."), "{text}");
    }

    #[test]
    fn a_refused_ticket_is_reported_as_the_tool_said() {
        let refused = "employee_id '1002' names someone other than the authenticated user";
        let done = after(&[
            (GET_EMPLOYEE_LAPTOP_INFO, refused),
            (KNOWLEDGE_SEARCH, CATALOGUE),
            (OPEN_LAPTOP_REFRESH_TICKET, refused),
        ]);
        let Some(Answer::Text(text)) = next("1002", &done) else {
            panic!("expected text");
        };
        assert!(text.ends_with(refused), "{text}");
    }

    #[test]
    fn other_requests_and_other_tools_fall_through() {
        let mut other = after(&[]);
        other.last_user = "When is my ticket done?".into();
        assert_eq!(next("", &other), None);
        let mut no_tools = after(&[]);
        no_tools.offered.clear();
        assert_eq!(next("", &no_tools), None);
    }

    #[test]
    fn catalogue_models_are_read_in_both_formats() {
        assert_eq!(first_model(CATALOGUE), Some("Dell Latitude 7450"));
        assert_eq!(
            first_model("Manufacturer: Apple\nModel: MacBook Air M2\n"),
            Some("MacBook Air M2")
        );
        assert_eq!(first_model("nothing here"), None);
    }
}
