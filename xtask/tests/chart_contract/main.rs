//! The contract between the chart and the image (docs/chart.md): the chart
//! is rendered by the real Helm v4 engine (`helm/tests/render.py` in the
//! tools venv) and every container of the render (the Jobs', the
//! Deployment's init container and container, the `helm test` pod's) is run
//! from the image that `cargo xtask build-image` builds (once per test
//! process, shared with the image tests' helpers), with exactly that
//! container's command, args and environment, as the kubelet would run it:
//!
//! - env from the release's Secret/ConfigMap (or from a Secret the user
//!   created beforehand) resolved from those objects, base64-decoded;
//! - the pod's and container's securityContext (user and group 1001,
//!   `--read-only` without podman's own tmpfs, `--cap-drop ALL`,
//!   `no-new-privileges`), resource limits (`--memory`, `--cpus`);
//! - volumes: emptyDir as tmpfs of its sizeLimit, ConfigMap and Secret
//!   volumes written out as the kubelet lays them out and mounted read-only.
//!
//! What points at in-cluster services is then moved onto loopback (the
//! containers share the host's network): the database Secret's contents to
//! the test PostgreSQL, `http://llamastack:8321` to an in-process fake
//! LlamaStack, and the pod's port 8080 (the `http` containerPort, which
//! LISTEN_ADDR, the probes and the Service's targetPort all name) together
//! with the Service address `http://<service>:<port>` to one free host port.
//!
//! Each case of `cases.rs` is installed once per test process, in the order
//! of a first install (`install.rs`): the init container (`db-migrate
//! wait`) starts while the schema is missing; the migration Job; the
//! registration Job (the knowledge bases' vector stores; a 0.2.18-flavoured
//! fake holding an earlier release's agent where the case prunes or keeps
//! it); the MCP servers, their probes, `/health`, tool calls
//! with the release's token through the official Python MCP client, and a
//! call without it (`mcp.rs`); the service and its startup, liveness and
//! readiness probes (exec probes run with `podman exec`, httpGet probes fetched);
//! `/ready`; the dispatcher's Deployment where the case has one, its init
//! container, probes and `/ready` (`dispatcher.rs`); a request through the
//! service, answered by the routing agent of the directory at
//! `/app/config` through the fake's Responses API (its answer delivered by
//! that dispatcher); the
//! `helm test` pod.
//! Each test below checks one thing that install showed (`checks.rs`), in a
//! module named after the case.
//!
//! Needs podman, the tools venv (`target/venv/tools`) and the MCP venv
//! (`target/venv/mcp`); without them the
//! tests print `SKIPPED: ...`, or fail under `SSA_REQUIRE_ALL=1`.
//! `SSA_CONTRACT_IMAGE=<reference>` runs an image already in podman's store
//! instead of building one (e.g. the `reference` of target/image/last-build.json),
//! with the MCP images beside it (`<repository>-employee-info-mcp:<tag>`, ...).

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod cases;
mod checks;
mod dispatcher;
mod install;
mod mcp;
mod probe;
mod release;

/// A module per case, holding its install and one test per check: the
/// checks every case runs, then those given after the case's name.
macro_rules! contract_tests {
    ($case:ident $(, $test:ident => $check:ident)* $(,)?) => {
        mod $case {
            use std::sync::OnceLock;

            use crate::install::Installation;

            const NAME: &str = concat!("chart contract (", stringify!($case), ")");

            /// The case installed, once per test process; `None` after a
            /// visible skip.
            fn installed() -> Option<&'static Installation> {
                static INSTALLED: OnceLock<Result<Option<Installation>, String>> =
                    OnceLock::new();
                let installed = crate::common::once(&INSTALLED, NAME, || {
                    crate::install::install(crate::cases::$case())
                });
                if installed.is_none() {
                    // The SKIPPED line for this test too.
                    crate::install::prerequisites(NAME);
                }
                installed.as_ref()
            }

            contract_tests!(@tests
                the_database_secret_holds_the_values_or_the_user_names_theirs => database_secret,
                the_service_listens_on_the_http_port_its_service_targets => service_port,
                the_helm_test_pod_is_a_test_hook => helm_test_hook,
                the_service_has_a_readiness_probe => readiness_probe,
                every_url_a_container_gets_points_at_the_test_services_once_moved => urls_point_at_the_test_services,
                the_init_container_keeps_waiting_while_the_schema_is_missing => init_waits_for_the_schema,
                the_migration_job_exits_0_and_the_schema_is_at_alembic_001 => migration,
                the_init_container_exits_0_once_the_schema_is_current => init_exits_once_migrated,
                the_registration_job_exits_0 => registration_succeeds,
                the_registration_job_makes_one_vector_store_per_knowledge_base_holding_its_documents =>
                    registration_vector_stores,
                the_service_passes_its_startup_liveness_and_readiness_probes => probes_pass,
                the_service_answers_ready => ready,
                a_request_through_the_service_gets_the_routing_agents_reply => request_reaches_the_agents,
                the_service_runs_the_routing_agent_of_the_directory_at_app_config =>
                    service_runs_the_directorys_routing_agent,
                the_helm_test_pod_passes => helm_test_passes,
                the_service_stays_up_through_the_install => service_stays_up,
                every_rendered_container_ran => every_container_ran,
                both_mcp_servers_ran_from_their_images => mcp_servers_ran,
                the_mcp_servers_pass_their_startup_liveness_and_readiness_probes => mcp_probes_pass,
                the_mcp_servers_answer_health_with_their_name_and_the_demo_backend => mcp_health,
                a_tool_call_with_the_token_gets_the_laptop_of_the_demo_employee_calling => employee_info_answers_for_the_caller,
                a_ticket_opened_through_snow_is_listed_for_the_employee => snow_lists_the_ticket_it_opened,
                an_mcp_call_without_the_token_is_refused_with_401 => mcp_refuses_calls_without_the_token,
                the_service_holds_the_token_the_mcp_servers_require => the_service_holds_the_mcp_servers_token,
                the_mcp_servers_stay_up_through_the_install => mcp_servers_stay_up,
                $($test => $check),*
            );
        }
    };
    (@tests $($test:ident => $check:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                if let Some(installed) = installed() {
                    #[allow(unused_imports)]
                    use crate::{checks::*, dispatcher::*, mcp::*};
                    $check(installed);
                }
            }
        )*
    };
}

contract_tests!(
    defaults,
    the_helm_test_pod_exits_69_while_llamastack_is_down_and_passes_once_it_is_back =>
        helm_test_fails_while_llamastack_is_down,
);
contract_tests!(
    existing_database_secret,
    the_registration_job_keeps_an_earlier_releases_agent_without_prune => left_over_agent_kept,
    the_dispatchers_init_container_exits_0_once_the_schema_is_current =>
        dispatcher_init_exits_0_once_migrated,
    the_dispatcher_passes_its_startup_liveness_and_readiness_probes => dispatcher_probes_pass,
    the_dispatcher_answers_ready => dispatcher_ready,
    an_answer_is_delivered_by_the_dispatcher_and_not_by_the_service => only_the_dispatcher_delivers,
    the_dispatcher_stays_up_through_the_install => dispatcher_stays_up,
);
contract_tests!(
    overrides,
    a_bearer_key_outside_the_mounted_file_is_refused_with_401 => foreign_key_is_refused,
    the_registration_job_with_prune_removes_an_earlier_releases_agent => left_over_agent_pruned,
);
