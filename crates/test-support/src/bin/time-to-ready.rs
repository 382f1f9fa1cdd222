//! `time-to-ready <url> -- <command> [args...]`: starts the command, polls
//! `url` every millisecond until it answers 2xx, prints the milliseconds
//! from spawn to ready and the process's resident memory, then stops it
//! with SIGTERM. For the start-up benchmarks.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, command) = match args.split_first() {
        Some((url, rest)) => (
            url.clone(),
            rest.strip_prefix(&["--".to_owned()])
                .unwrap_or(rest)
                .to_vec(),
        ),
        None => bail!("usage: time-to-ready <url> -- <command> [args...]"),
    };
    let Some((program, program_args)) = command.split_first() else {
        bail!("usage: time-to-ready <url> -- <command> [args...]");
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(program_args)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let ready = runtime.block_on(async {
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        None
    });
    let rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .map(|line| line.trim_start_matches("VmRSS:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    match ready {
        Some(elapsed) => {
            println!(
                "ready_ms={:.1} rss_at_ready={rss}",
                elapsed.as_secs_f64() * 1000.0
            );
            Ok(())
        }
        None => bail!("{url} did not answer 2xx within 30 s"),
    }
}
