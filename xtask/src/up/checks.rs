//! What is checked before anything starts, so that a stack that cannot
//! come up fails with one line naming the component and what to do, and
//! leaves nothing running.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::settings::{Database, Inference, RemoteInference, Settings};
use super::state::State;

/// Everything, in the order a person would fix it.
pub async fn preflight(settings: &Settings) -> Result<Option<usize>> {
    not_running(settings)?;
    ports_free(settings)?;
    super::llamastack::LlamaStack::python(settings.args.server)?;
    if matches!(settings.database, Database::Local) {
        for program in ["initdb", "postgres"] {
            if !crate::workspace::has_program(program) {
                bail!(
                    "postgres: {program} is not on PATH: install PostgreSQL's server \
                     (cargo xtask provision) or set DATABASE_URL"
                );
            }
        }
    }
    if settings.args.image && !crate::workspace::has_program("podman") {
        bail!("image: --image runs the images with podman, which is not on PATH: install it");
    }
    match &settings.inference {
        Inference::Stub => Ok(None),
        Inference::Remote(remote) => inference(remote).await.map(Some),
    }
}

fn not_running(settings: &Settings) -> Result<()> {
    if let Some(state) = State::read(&settings.layout.state_file())
        && state.supervisor_alive()
        && state.pid != std::process::id()
    {
        bail!(
            "up: already running in {} (supervisor pid {}): cargo xtask down first",
            settings.layout.root.display(),
            state.pid
        );
    }
    Ok(())
}

fn ports_free(settings: &Settings) -> Result<()> {
    let ports = settings.listened_ports();
    for (at, (component, flag, port)) in ports.iter().enumerate() {
        if let Some((other, other_flag, _)) = ports[..at].iter().find(|(_, _, p)| p == port) {
            bail!(
                "{component}: {flag} and {other_flag} ({other}) are both {port}: give each its own port"
            );
        }
        if TcpListener::bind(("127.0.0.1", *port)).is_err() {
            bail!(
                "{component}: port {port} on 127.0.0.1 is in use: stop what holds it, or choose another with {flag}"
            );
        }
    }
    Ok(())
}

/// The endpoint answers, serves both models, and embeds (which gives the
/// dimension when `INFERENCE_EMBEDDING_DIMENSION` is not set).
async fn inference(remote: &RemoteInference) -> Result<usize> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let with_key = |request: reqwest::RequestBuilder| match &remote.api_key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    let what_to_do =
        "check INFERENCE_URL (an OpenAI base URL, ending in /v1) and INFERENCE_API_KEY";
    let models = match with_key(client.get(format!("{}/models", remote.url)))
        .send()
        .await
    {
        Err(error) => bail!(
            "inference: INFERENCE_URL does not answer GET /models ({}): {what_to_do}",
            reason(&error)
        ),
        Ok(answer) if !answer.status().is_success() => {
            bail!(
                "inference: INFERENCE_URL answers GET /models with {}: {what_to_do}",
                answer.status()
            )
        }
        Ok(answer) => answer.json::<Value>().await.unwrap_or_default(),
    };
    let served: Vec<&str> = models["data"]
        .as_array()
        .map(|data| {
            data.iter()
                .filter_map(|model| model["id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for (var, model) in [
        ("INFERENCE_MODEL", &remote.model),
        ("INFERENCE_EMBEDDING_MODEL", &remote.embedding_model),
    ] {
        if !served.contains(&model.as_str()) {
            let shown: Vec<&str> = served.iter().copied().take(8).collect();
            bail!(
                "inference: {var} {model:?} is not among the models INFERENCE_URL serves ({}): set it to one of them",
                shown.join(", ")
            );
        }
    }
    if let Some(dimension) = remote.embedding_dimension {
        return Ok(dimension);
    }
    let body = json!({"model": remote.embedding_model, "input": "dimension probe"});
    let answer = match with_key(
        client
            .post(format!("{}/embeddings", remote.url))
            .json(&body),
    )
    .send()
    .await
    {
        Ok(answer) if answer.status().is_success() => answer.json::<Value>().await.ok(),
        _ => None,
    };
    match answer
        .as_ref()
        .and_then(|a| a["data"][0]["embedding"].as_array())
    {
        Some(vector) if !vector.is_empty() => Ok(vector.len()),
        _ => bail!(
            "inference: INFERENCE_EMBEDDING_MODEL {:?} did not embed a probe text: check it, or set INFERENCE_EMBEDDING_DIMENSION",
            remote.embedding_model
        ),
    }
}

/// The innermost cause of a request error, without the URL reqwest would
/// quote (it may carry credentials).
fn reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let text = cause.to_string();
    if text.contains("://") {
        "request failed".to_owned()
    } else {
        text
    }
}
