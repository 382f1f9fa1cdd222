//! A port already in use: one line naming the component and the port, a
//! non-zero exit, nothing left running.

use std::net::TcpListener;

use crate::common::stack::{Stack, available_or_skip, text};

#[test]
fn a_port_in_use_fails_up_with_one_line_naming_the_component_and_leaves_nothing_running() {
    let test =
        "a_port_in_use_fails_up_with_one_line_naming_the_component_and_leaves_nothing_running";
    if !available_or_skip(test) {
        return;
    }
    for (flag, component) in [
        ("--api-port", "self-service-agent"),
        ("--llamastack-port", "llamastack"),
    ] {
        let stack = Stack::new();
        let port = stack.port(flag);
        let _taken = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let output = stack.up();
        let (stdout, stderr, described) = text(&output);
        assert!(!output.status.success(), "{described}");
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        assert_eq!(
            lines,
            [format!(
                "Error: {component}: port {port} on 127.0.0.1 is in use: \
                 stop what holds it, or choose another with {flag}"
            )],
            "{described}"
        );
        assert!(stdout.is_empty(), "{described}");
        assert!(
            stack.state().is_none_or(|state| !state.supervisor_alive()),
            "{:?}",
            stack.state()
        );
        let left: Vec<String> = stack
            .leftovers(stack.state().as_ref())
            .into_iter()
            .filter(|left| !left.starts_with(&format!("port {port} ")))
            .collect();
        assert!(left.is_empty(), "left behind:\n{}", left.join("\n"));
    }
}
