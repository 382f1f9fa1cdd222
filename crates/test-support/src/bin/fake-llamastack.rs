//! `fake-llamastack [--port N] [--flavor 0.2.18|current] [--turn-latency-ms MS]
//! [--token-delay-ms MS] [--plain]`: an in-memory LlamaStack
//! (`test_support::fake_llamastack`) on 127.0.0.1:N (default 8321) until
//! interrupted, instant unless each response is given `MS` milliseconds of
//! model time. Unless `--plain` (every request echoed), the agents of the
//! asset directory are scripted: the routing agent (instructions saying
//! `You are the routing-agent.`, or mentioning the "routing agent" as
//! `assets/config/agents/routing-agent.yaml` does) hands laptop requests to
//! `laptop-refresh` by calling `transfer_to_laptop-refresh` when offered
//! (else `ROUTE_TO: laptop-refresh`); every other agent answers that it can
//! help. For benchmarks of the service and runs by hand.

use std::time::Duration;

use anyhow::{Context as _, bail};
use test_support::fake_llamastack::{FakeLlamaStack, Flavor, Scripted, routing};

const USAGE: &str = "fake-llamastack [--port N] [--flavor 0.2.18|current] [--turn-latency-ms MS] [--token-delay-ms MS] [--plain]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port: u16 = 8321;
    let mut flavor = Flavor::Current;
    let mut scripted = true;
    let mut turn_latency = Duration::ZERO;
    let mut token_delay = Duration::ZERO;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().context("--port needs a value")?;
                port = value.parse().with_context(|| format!("--port {value}"))?;
            }
            "--flavor" => {
                let value = args.next().context("--flavor needs a value")?;
                flavor = Flavor::parse(&value)
                    .with_context(|| format!("--flavor {value}: expected 0.2.18 or current"))?;
            }
            "--plain" | "--empty" => scripted = false,
            "--turn-latency-ms" => turn_latency = millis(&mut args, "--turn-latency-ms")?,
            "--token-delay-ms" => token_delay = millis(&mut args, "--token-delay-ms")?,
            "-h" | "--help" => {
                println!("usage: {USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other} (usage: {USAGE})"),
        }
    }
    let fake = FakeLlamaStack::builder()
        .port(port)
        .flavor(flavor)
        .start()
        .await?;
    fake.set_turn_latency(turn_latency);
    fake.set_token_delay(token_delay);
    if scripted {
        script_agents(&fake);
    }
    println!(
        "fake LlamaStack ({}) listening on {} (API base {})",
        flavor.version(),
        fake.url(),
        fake.api_base()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    fake.stop().await;
    Ok(())
}

fn millis(args: &mut impl Iterator<Item = String>, flag: &str) -> anyhow::Result<Duration> {
    let value = args
        .next()
        .with_context(|| format!("{flag} needs a value"))?;
    let ms = value.parse().with_context(|| format!("{flag} {value}"))?;
    Ok(Duration::from_millis(ms))
}

fn script_agents(fake: &FakeLlamaStack) {
    let router = routing("laptop-refresh", "laptop");
    fake.set_responder(move |input| {
        let routes = input.is_agent("routing-agent")
            || input
                .instructions
                .as_deref()
                .is_some_and(|text| text.to_ascii_lowercase().contains("routing agent"));
        if routes {
            return router(input);
        }
        let message = input.last_user_text().unwrap_or_default();
        Scripted::Text(format!(
            "laptop-refresh agent: I can help with that ({} characters received).",
            message.chars().count()
        ))
    });
}
