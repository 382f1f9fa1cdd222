//! `openai-stub [ADDR]`: serves the OpenAI-compatible test stub
//! (`test_support::openai_stub`) on ADDR (default `127.0.0.1:8000`) until
//! interrupted. For running a real LlamaStack by hand.

use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    eprintln!("openai-stub listening on http://{}", listener.local_addr()?);
    axum::serve(listener, test_support::openai_stub::router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
