//! The Python system's own mock ServiceNow (`mock_servicenow`, FastAPI, with
//! its employees in `mock_employee_data`), run as its test deployments run
//! it, for the MCP servers' tests against it. It lives in the shared
//! fixtures beside the checkout (`../shared/fixtures/` + [`FIXTURE`]) and
//! runs in the venv `target/venv/servicenow-mock` (`ci/python/servicenow-mock.txt`);
//! its `shared_models` import is served by a stand-in
//! (`shared_models_stand_in.py` beside this file). What it answers:
//! `docs/mcp-servers.md`, "The Python system's mock ServiceNow".

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The mock's directory below the shared fixtures.
pub const FIXTURE: &str = "python-system-2026/servicenow-mock";
const VENV: &str = "servicenow-mock";
const STAND_IN: &str = include_str!("shared_models_stand_in.py");
/// What uvicorn logs once it listens, followed by the address.
const LISTENING: &str = "Uvicorn running on http://";

/// An employee of the mock's data file (`mock_employee_data/data.py`) and
/// their laptop, as the file has them.
#[derive(Debug, Clone, Copy)]
pub struct MockEmployee {
    pub email: &'static str,
    /// Also their `employee_id` in the file; the mock has no
    /// `employee_number`.
    pub sys_id: &'static str,
    pub name: &'static str,
    pub location: &'static str,
    pub model: &'static str,
    pub serial_number: &'static str,
    pub purchase_date: &'static str,
    pub warranty_expiry: &'static str,
}

/// Three of the mock's employees, in three regions.
pub const EMPLOYEES: [MockEmployee; 3] = [
    MockEmployee {
        email: "alice.johnson@company.com",
        sys_id: "1001",
        name: "Alice Johnson",
        location: "EMEA",
        model: "Latitude 7420",
        serial_number: "DL7420001",
        purchase_date: "2020-01-15",
        warranty_expiry: "2023-01-15",
    },
    MockEmployee {
        email: "maria.garcia@company.com",
        sys_id: "1003",
        name: "Maria Garcia",
        location: "LATAM",
        model: "ThinkPad X1 Carbon",
        serial_number: "TP1C003",
        purchase_date: "2022-11-10",
        warranty_expiry: "2025-11-10",
    },
    MockEmployee {
        email: "jane.smith@company.com",
        sys_id: "2001",
        name: "Jane Smith",
        location: "San Francisco Office",
        model: "MacBook Pro 16-inch",
        serial_number: "DEF789012",
        purchase_date: "2023-01-10",
        warranty_expiry: "2026-01-10",
    },
];

/// The mock, listening on a free port of 127.0.0.1; ended when dropped.
#[derive(Debug)]
pub struct PythonMock {
    child: Child,
    /// Ends the mock's process group should this process die without
    /// dropping it (the mock [`shared_or_skip`] keeps in a `static`).
    guardian: Option<(Child, ChildStdin)>,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// The mock's directory and the venv's Python, or `None` after a visible
/// skip: without the shared fixtures (absent beside a clone elsewhere than
/// CI), or without the venv (a failure under `SSA_REQUIRE_ALL=1`).
pub fn prerequisites_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    let dir = crate::fixtures::shared_fixture(FIXTURE, test)?;
    let python = crate::venv::python_or_skip(
        test,
        VENV,
        "the Python mock ServiceNow's dependencies (FastAPI, uvicorn) are",
    )?;
    Some((dir, python))
}

/// One mock for every test of this test binary (it keeps no state a test
/// could see but the tickets' random numbers), started by the first;
/// `None` after a visible skip (see [`prerequisites_or_skip`]).
pub fn shared_or_skip(test: &str) -> Option<&'static PythonMock> {
    static MOCK: OnceLock<PythonMock> = OnceLock::new();
    let (dir, python) = prerequisites_or_skip(test)?;
    Some(MOCK.get_or_init(|| PythonMock::start(&python, &dir).expect("the mock ServiceNow starts")))
}

impl PythonMock {
    /// Runs the mock of `dir` with `python` (`python -m uvicorn
    /// mock_servicenow.server:app` on port 0, as its README runs it) and
    /// waits until it listens. `TEST_USERS` is removed from its
    /// environment: its employees are those of its data file only.
    pub fn start(python: &Path, dir: &Path) -> Result<Self> {
        let temp = tempfile::tempdir()?;
        let stand_in = temp.path().join("shared_models");
        std::fs::create_dir(&stand_in)?;
        std::fs::write(stand_in.join("__init__.py"), STAND_IN)?;
        let python_path = std::env::join_paths([temp.path(), dir])?;
        let log = temp.path().join("mock.log");
        // one open file for both streams, so that neither overwrites the other
        let output = std::fs::File::create(&log)?;
        let child = Command::new(python)
            .args(["-m", "uvicorn", "mock_servicenow.server:app"])
            .args(["--host", "127.0.0.1", "--port", "0"])
            .current_dir(temp.path())
            .env("PYTHONPATH", python_path)
            // the fixture is read-only, and nothing is to be left beside it
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("TEST_USERS")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {} -m uvicorn", python.display()))?;
        let guardian = crate::guardian::spawn(child.id(), None).ok();
        let mut mock = Self {
            child,
            guardian,
            base: String::new(),
            log,
            _dir: temp,
        };
        mock.base = mock.wait_listening(Duration::from_secs(60))?;
        Ok(mock)
    }

    /// `http://127.0.0.1:<port>`, the `SERVICENOW_INSTANCE_URL`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// What the mock has logged so far (uvicorn's access log, and its own
    /// lines: `Successfully created laptop refresh request
    /// request_number=REQ... user=<sys_id>`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_listening(&mut self, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if let Some(address) = log
                .split_once(LISTENING)
                .and_then(|(_, rest)| rest.split_whitespace().next())
            {
                return Ok(format!("http://{address}"));
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the mock ServiceNow exited during startup ({status}): {log}");
            }
            if Instant::now() > deadline {
                bail!("the mock ServiceNow did not listen within {timeout:?}: {log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PythonMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((mut guardian, stdin)) = self.guardian.take() {
            drop(stdin);
            let _ = guardian.wait();
        }
    }
}
