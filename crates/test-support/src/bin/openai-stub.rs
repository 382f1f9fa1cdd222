//! `openai-stub [--script text|laptop-refresh|call-tools] [ADDR]`: serves the
//! OpenAI-compatible test stub (`test_support::openai_stub`) on ADDR
//! (default `127.0.0.1:8000`) until interrupted, its model playing the
//! script (`text`, the default, the laptop refresh journey for the
//! authenticated user, or calling every tool offered). For running a real LlamaStack by hand, and the
//! model of `cargo xtask up` without `INFERENCE_URL`.

use anyhow::{Context as _, bail};
use test_support::openai_stub::{self, Script};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut addr = "127.0.0.1:8000".to_owned();
    let mut script = Script::Text;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--script" => {
                script = match args.next().as_deref() {
                    Some("text") => Script::Text,
                    Some("laptop-refresh") => Script::laptop_refresh(),
                    Some("call-tools") => Script::CallTools,
                    other => {
                        bail!("--script takes text, laptop-refresh or call-tools, not {other:?}")
                    }
                }
            }
            _ if arg.starts_with('-') => bail!("unknown option {arg}"),
            _ => addr = arg,
        }
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    eprintln!(
        "openai-stub listening on http://{} (script: {script:?})",
        listener.local_addr()?
    );
    axum::serve(listener, openai_stub::router_with_script(script))
        .with_graceful_shutdown(async {
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async {
                    match terminate.as_mut() {
                        Some(signal) => { signal.recv().await; }
                        None => std::future::pending().await,
                    }
                } => {}
            }
        })
        .await?;
    Ok(())
}
