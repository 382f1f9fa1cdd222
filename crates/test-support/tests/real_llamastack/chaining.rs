//! `previous_response_id`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::RealLlamaStack;
use test_support::llamastack::ServerVersion;

use crate::common::*;

pub async fn previous_response_id_carries_the_earlier_turns(api: Api) {
    let marker = unique("first");
    let first = api
        .respond(json!({"model": RealLlamaStack::LLM_MODEL, "input": format!("{marker} words")}))
        .await;
    let second = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "input": "second words",
            "previous_response_id": first["id"],
        }))
        .await;
    assert_eq!(output_text(&second), "You said: second words");
    let seen = seen_by_the_model(&api, "second words");
    let turns: Vec<(String, String)> = seen["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                text_of(&m["content"]),
            )
        })
        .collect();
    let turn = |role: &str, text: String| (role.to_owned(), text);
    assert_eq!(
        turns,
        [
            turn("user", format!("{marker} words")),
            turn("assistant", format!("You said: {marker} words")),
            turn("user", "second words".to_owned()),
        ]
    );
    // only OGX says which response it followed
    let echoed = match api.version() {
        ServerVersion::Ogx1_5 => first["id"].clone(),
        _ => Value::Null,
    };
    assert_eq!(second["previous_response_id"], echoed);
}

pub async fn previous_response_id_after_tool_calls_fails_on_0_2_18(api: Api) {
    let store = api
        .vector_store_with("policy.txt", "Laptops are refreshed every three years.")
        .await;
    let marker = unique("tools");
    let first = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "input": format!("{marker} laptops"),
            "tools": [
                {"type": "mcp", "server_label": "stub", "server_url": api.stack.named_mcp_url("chain")},
                {"type": "file_search", "vector_store_ids": [store]},
            ],
        }))
        .await;
    assert_eq!(items(&first, "mcp_call").len(), 1, "{first}");
    assert_eq!(items(&first, "file_search_call").len(), 1, "{first}");
    let (status, second) = api
        .post(
            "/responses",
            json!({"model": RealLlamaStack::LLM_MODEL, "input": "and then?",
                   "previous_response_id": first["id"]}),
        )
        .await;
    match api.version() {
        // it cannot read back the tool items of the earlier response
        // ('OpenAIResponseOutputMessageMCPListTools' object has no
        // attribute 'content', in its log)
        ServerVersion::V0_2_18 => {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{second}");
            assert_eq!(
                second,
                json!({"detail": "Internal server error: An unexpected error occurred."})
            );
        }
        ServerVersion::V0_7_3 | ServerVersion::Ogx1_5 => {
            assert_eq!(status, StatusCode::OK, "{second}");
            assert_eq!(output_text(&second), "You said: and then?");
            // the model is given the earlier calls and their results
            let seen = seen_by_the_model(&api, "and then?");
            let roles: Vec<&str> = seen["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .filter_map(|m| m["role"].as_str())
                .collect();
            assert_eq!(
                roles,
                [
                    "user",
                    "assistant",
                    "tool",
                    "assistant",
                    "tool",
                    "assistant",
                    "user"
                ],
                "{seen}"
            );
            assert!(
                seen["messages"]
                    .to_string()
                    .contains("Laptops are refreshed every three years."),
                "{seen}"
            );
        }
    }
}

pub async fn an_unknown_previous_response_id_is_refused(api: Api) {
    let answer = api
        .post(
            "/responses",
            json!({"model": RealLlamaStack::LLM_MODEL, "input": "hello",
                   "previous_response_id": "resp_00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    let (status, body) = answer;
    let id = "resp_00000000-0000-0000-0000-000000000000";
    let expected = match api.version() {
        ServerVersion::V0_2_18 => (
            StatusCode::BAD_REQUEST,
            format!("Invalid value: Response with id {id} not found"),
        ),
        ServerVersion::V0_7_3 | ServerVersion::Ogx1_5 => (
            StatusCode::NOT_FOUND,
            format!(
                "Response '{id}' not found. Use 'client.responses.list()' to list available Responses."
            ),
        ),
    };
    assert_eq!(
        (
            status,
            body["detail"].as_str().unwrap_or_default().to_owned()
        ),
        expected,
        "{body}"
    );
}
