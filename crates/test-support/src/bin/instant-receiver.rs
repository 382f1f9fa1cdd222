//! `instant-receiver`: a webhook receiver that answers 204 at once
//! (`test_support::webhook_receiver::InstantReceiver`), on a free port of 127.0.0.1; prints
//! its URL, then runs until stdin closes. For `bench/queue.sh`.

use std::io::Read as _;

fn main() -> anyhow::Result<()> {
    let receiver = test_support::webhook_receiver::InstantReceiver::start()?;
    println!("{}", receiver.url("/hook"));
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    eprintln!("instant-receiver: answered {}", receiver.count());
    Ok(())
}
