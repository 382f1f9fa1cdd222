//! `fake-llamastack [--port N] [--empty] [--turn-latency-ms MS]`: an
//! in-memory LlamaStack (`test_support::fake_llamastack`) on 127.0.0.1:N
//! (default 8321) until interrupted, instant unless each agent turn is
//! given `MS` milliseconds of model time. Unless `--empty`, the agents of the asset directory
//! (`routing-agent`, `laptop-refresh`) are already registered, with scripted
//! replies: the router hands laptop requests over with
//! `ROUTE_TO: laptop-refresh`. For benchmarks of the service and for
//! `register-assets` runs by hand.

use anyhow::{Context as _, bail};
use serde_json::json;
use test_support::fake_llamastack::{DEFAULT_LLM, FakeLlamaStack};

const USAGE: &str = "fake-llamastack [--port N] [--empty] [--turn-latency-ms MS]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port: u16 = 8321;
    let mut preregister = true;
    let mut turn_latency = std::time::Duration::ZERO;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().context("--port needs a value")?;
                port = value.parse().with_context(|| format!("--port {value}"))?;
            }
            "--empty" => preregister = false,
            "--turn-latency-ms" => {
                let value = args.next().context("--turn-latency-ms needs a value")?;
                let ms = value
                    .parse()
                    .with_context(|| format!("--turn-latency-ms {value}"))?;
                turn_latency = std::time::Duration::from_millis(ms);
            }
            "-h" | "--help" => {
                println!("usage: {USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other} (usage: {USAGE})"),
        }
    }
    let fake = FakeLlamaStack::builder().port(port).start().await?;
    fake.set_turn_latency(turn_latency);
    if preregister {
        register_fixture_agents(&fake);
    }
    println!("fake LlamaStack listening on {}", fake.url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    fake.stop().await;
    Ok(())
}

fn register_fixture_agents(fake: &FakeLlamaStack) {
    fake.add_agent(json!({
        "name": "routing-agent",
        "model": DEFAULT_LLM,
        "instructions": "Greet the user, find out what they need and route them.",
        "tool_config": {"tool_choice": "none"},
        "max_infer_iters": 10,
    }));
    fake.add_agent(json!({
        "name": "laptop-refresh",
        "model": DEFAULT_LLM,
        "instructions": "Help the user refresh their laptop.",
        "toolgroups": [
            {"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": ["laptop-refresh"]}},
            "mcp::employee-info",
            "mcp::snow"
        ],
        "tool_config": {"tool_choice": "required"},
        "max_infer_iters": 30,
        "enable_session_persistence": true,
    }));
    fake.set_reply("routing-agent", |_config, message| {
        if message.to_ascii_lowercase().contains("laptop") {
            "ROUTE_TO: laptop-refresh".to_owned()
        } else {
            "Hello, I am the routing agent. I can help you refresh your laptop.".to_owned()
        }
    });
    fake.set_reply("laptop-refresh", |_config, message| {
        format!(
            "laptop-refresh agent: I can help with that ({} characters received).",
            message.chars().count()
        )
    });
}
