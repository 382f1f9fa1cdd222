//! The real servers start side by side and answer as the version they are.

use test_support::RealLlamaStack;
use test_support::llamastack::ServerVersion;

#[tokio::test(flavor = "multi_thread")]
async fn every_version_starts_and_reports_its_version() {
    let versions: Vec<ServerVersion> = ServerVersion::ALL
        .into_iter()
        .filter(|v| {
            RealLlamaStack::available_or_skip(*v, "every_version_starts_and_reports_its_version")
        })
        .collect();
    let started = tokio::task::spawn_blocking(move || RealLlamaStack::shared_all(&versions))
        .await
        .expect("start task");
    for stack in started {
        let stack = stack.expect("the server starts");
        eprintln!("{} ready in {:?}", stack.version(), stack.startup_time());
        let answer: serde_json::Value = reqwest::get(format!("{}/v1/version", stack.url()))
            .await
            .expect("GET /v1/version")
            .json()
            .await
            .expect("JSON");
        assert_eq!(answer["version"], stack.version().number(), "{answer}");
    }
}
