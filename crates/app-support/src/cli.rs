//! Parsing a binary's command line with clap, where flags may fall back to
//! environment variables (`#[arg(env = ...)]`). A bad value on the command
//! line is a usage error (exit 2, clap's message); the same bad value from
//! an environment variable is a configuration error (exit 78) naming the
//! variable, as every other setting read from the environment is.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command, CommandFactory, FromArgMatches};

use crate::{ConfigError, ExitStatus, Fatal};

/// Parses `std::env::args_os()` into `C`; on failure prints the error and
/// returns the exit code to end the process with.
pub fn parse_cli<C: CommandFactory + FromArgMatches>(binary: &str) -> Result<C, ExitCode> {
    parse_cli_from(binary, std::env::args_os())
}

/// [`parse_cli`] over explicit arguments (the first is the program name).
pub fn parse_cli_from<C: CommandFactory + FromArgMatches>(
    binary: &str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<C, ExitCode> {
    let args: Vec<OsString> = args.into_iter().collect();
    let parsed = C::command()
        .try_get_matches_from(&args)
        .and_then(|mut matches| C::from_arg_matches_mut(&mut matches));
    match parsed {
        Ok(cli) => Ok(cli),
        Err(error) => match from_environment(&C::command(), &error, &args) {
            Some(problem) => Err(crate::finish(
                binary,
                Err(Fatal::new(
                    ExitStatus::Config,
                    ConfigError::new(problem).to_string(),
                )),
            )),
            None => {
                // help and version go to stdout with 0; usage errors to stderr with 2
                let _ = error.print();
                Err(ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2)))
            }
        },
    }
}

/// `Some("VAR: why")` when `error` is about a value that came from the
/// environment variable of its argument rather than from the command line.
fn from_environment(command: &Command, error: &clap::Error, args: &[OsString]) -> Option<String> {
    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let arg = find_arg(command, shown)?;
    let var = arg.get_env()?.to_string_lossy().into_owned();
    let long = arg.get_long()?;
    let on_command_line = args.iter().skip(1).any(|given| {
        let given = given.to_string_lossy();
        given == format!("--{long}") || given.starts_with(&format!("--{long}="))
    });
    if on_command_line || std::env::var_os(&var).is_none() {
        return None;
    }
    let why = match std::error::Error::source(error) {
        Some(source) => source.to_string(),
        None => "invalid value".to_owned(),
    };
    Some(format!("{var}: {why}"))
}

/// The argument clap shows as `shown` (`--connect-timeout <SECONDS>`), in
/// `command` or any of its subcommands.
fn find_arg<'a>(command: &'a Command, shown: &str) -> Option<&'a Arg> {
    let flag = shown.split([' ', '=']).next()?;
    command
        .get_arguments()
        .find(|arg| {
            arg.get_long()
                .is_some_and(|long| flag == format!("--{long}"))
        })
        .or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| find_arg(sub, shown))
        })
}

#[cfg(test)]
// figment::Jail's closures return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::Seconds;

    #[derive(Debug, Parser)]
    struct Sample {
        #[arg(long, env = "SAMPLE_CLI_WAIT", default_value = "60")]
        wait: Seconds,
    }

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("sample")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn problem(list: &[&str]) -> Option<String> {
        let error = Sample::try_parse_from(args(list)).expect_err("invalid");
        from_environment(&Sample::command(), &error, &args(list))
    }

    #[test]
    fn a_bad_value_from_the_environment_names_the_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SAMPLE_CLI_WAIT", "forever");
            let problem = problem(&[]).expect("from the environment");
            assert!(
                problem.starts_with("SAMPLE_CLI_WAIT: expected"),
                "{problem}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_bad_flag_stays_a_usage_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SAMPLE_CLI_WAIT", "5");
            assert_eq!(problem(&["--wait", "forever"]), None);
            assert_eq!(problem(&["--wait=forever"]), None);
            Ok(())
        });
    }
}
