//! `fake-slack [USERS]`: the fake Slack Web API (`test_support::fake_slack`)
//! on a free port of 127.0.0.1, with `USERS` (default 100) people
//! `UBENCH0000`… whose profile emails are `bench-0@example.com`… and the
//! channel `CBENCH`. Prints its `SLACK_API_URL`, then runs until stdin
//! closes and reports how many messages were posted. For `bench/slack.sh`.

use std::io::Read as _;

use anyhow::Context as _;
use test_support::fake_slack::{FakeSlack, FakeUser};

fn main() -> anyhow::Result<()> {
    let users: usize = match std::env::args().nth(1) {
        Some(value) => value
            .parse()
            .with_context(|| format!("USERS {value} (usage: fake-slack [USERS])"))?,
        None => 100,
    };
    let slack = FakeSlack::start()?;
    for index in 0..users {
        slack.add_user(FakeUser::with_email(
            &format!("UBENCH{index:04}"),
            &format!("bench-{index}@example.com"),
        ));
    }
    slack.add_channel("CBENCH");
    println!("{}", slack.api_url());
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    eprintln!("fake-slack: {} messages posted", slack.messages().len());
    Ok(())
}
