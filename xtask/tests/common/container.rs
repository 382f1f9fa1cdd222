//! A detached podman container, removed when the test is done with it,
//! however the test ends.

use std::time::{Duration, Instant};

use super::{podman, run};

pub struct Running {
    pub name: String,
}

impl Running {
    /// Takes charge of the container `name` (started with `--detach --name`).
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// A field of `podman inspect`'s `.State` (`Running`, `ExitCode`, ...).
    pub fn state(&self, field: &str) -> String {
        let output = run(podman()
            .args(["inspect", "--format", &format!("{{{{.State.{field}}}}}")])
            .arg(&self.name));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    pub fn running(&self) -> bool {
        self.state("Running") == "true"
    }

    /// Everything it wrote, stdout then stderr.
    pub fn logs(&self) -> String {
        let output = run(podman().args(["logs", &self.name]));
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    /// Its exit code once it exits; `Err` with its logs when it is still
    /// running after `timeout`.
    pub async fn exit_code(&self, timeout: Duration) -> Result<i64, String> {
        let deadline = Instant::now() + timeout;
        while self.running() {
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} still running after {timeout:?}; logs:\n{}",
                    self.name,
                    self.logs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.state("ExitCode")
            .parse()
            .map_err(|error| format!("{}: exit code: {error}", self.name))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = podman()
            .args(["rm", "--force", "--time", "2", &self.name])
            .output();
    }
}
