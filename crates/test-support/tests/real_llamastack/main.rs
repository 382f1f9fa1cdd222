//! The Responses API as the three real servers serve it (LlamaStack
//! 0.2.18, 0.7.3 and OGX 1.5.0, `docs/llamastack.md`), each behind the
//! OpenAI stub, with plain reqwest: every behaviour below is a test per
//! version (`v0_2_18::…`, `v0_7_3::…`, `ogx_1_5::…`). The servers are
//! shared by the tests of this binary and started side by side on first
//! use; their stubs play `Script::CallTools` (every tool offered is
//! called), whose steps follow from each request, so tests do not disturb
//! each other.
//!
//! `common` starts the servers and talks to them; the behaviours are in
//! `models` (health, models, usage, the launcher), `tools` (MCP, function
//! and file_search tools) and `chaining` (`previous_response_id`).

mod chaining;
mod common;
mod models;
mod tools;

use chaining::*;
use common::server;
use models::*;
use test_support::llamastack::ServerVersion;
use tools::*;

/// One test per version for each behaviour: `<module>::<behaviour>`.
macro_rules! per_version {
    ($($behaviour:ident),* $(,)?) => {
        per_version!(@module v0_2_18, V0_2_18, $($behaviour),*);
        per_version!(@module v0_7_3, V0_7_3, $($behaviour),*);
        per_version!(@module ogx_1_5, Ogx1_5, $($behaviour),*);
    };
    (@module $module:ident, $version:ident, $($behaviour:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    let test = concat!(stringify!($module), "::", stringify!($behaviour));
                    if let Some(server) = super::server(super::ServerVersion::$version, test).await {
                        super::$behaviour(server).await;
                    }
                }
            )*
        }
    };
}

per_version!(
    health_and_version_answer,
    the_stub_models_are_listed_provider_prefixed,
    an_unknown_model_is_refused,
    a_streamed_response_calls_an_mcp_tool_with_the_request_headers,
    a_function_call_is_answered_through_previous_response_id,
    previous_response_id_carries_the_earlier_turns,
    previous_response_id_after_tool_calls_fails_on_0_2_18,
    file_search_retrieves_a_document_of_a_vector_store,
    an_unreachable_mcp_server_fails_the_response,
    an_unknown_previous_response_id_is_refused,
    usage_is_the_models_count,
);
