//! A throwaway `docker-registry` on a free loopback port: plain HTTP,
//! htpasswd basic auth (bcrypt), storage in a temporary directory; and a
//! docker credential helper that hands out a login for it.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "pusher";
pub const PASSWORD: &str = "correct-horse-battery";

pub struct LocalRegistry {
    pub host: String,
    child: Child,
    dir: PathBuf,
}

impl LocalRegistry {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ssa-registry-")
            .tempdir()
            .expect("registry dir")
            .keep();
        let htpasswd = dir.join("htpasswd");
        let status = Command::new("htpasswd")
            .args(["-B", "-b", "-c"])
            .arg(&htpasswd)
            .args([USER, PASSWORD])
            .stderr(Stdio::null())
            .status()
            .expect("running htpasswd");
        assert!(status.success(), "htpasswd failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: {host}\nauth:\n  htpasswd:\n    realm: ssa-test\n    path: {}\n",
                dir.join("data").display(),
                htpasswd.display()
            ),
        )
        .expect("registry config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("registry.log")).expect("registry log"))
            .spawn()
            .expect("starting docker-registry");
        let registry = Self { host, child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&registry.host).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {}: {}",
                registry.host,
                std::fs::read_to_string(registry.dir.join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// The digest `skopeo inspect` reports for `reference` in this registry.
    pub fn skopeo_digest(&self, reference: &str) -> String {
        let inspected = super::run_ok(
            Command::new("skopeo")
                .args(["inspect", "--tls-verify=false", "--creds"])
                .arg(format!("{USER}:{PASSWORD}"))
                .arg(format!("docker://{reference}")),
        );
        let json: serde_json::Value = serde_json::from_str(&inspected).expect("skopeo JSON");
        json["Digest"].as_str().expect("Digest").to_owned()
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `docker-credential-<name>` in a directory of its own, speaking the
/// docker credential helper protocol: `get` reads a server address on
/// stdin and answers `{"ServerURL", "Username", "Secret"}` on stdout, for
/// any address. Every address it is asked for is appended to `asked`.
pub struct CredentialHelper {
    pub name: String,
    dir: tempfile::TempDir,
}

impl CredentialHelper {
    pub fn new(name: &str, username: &str, secret: &str) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::Builder::new()
            .prefix("ssa-credential-helper-")
            .tempdir()
            .expect("helper dir");
        let script = dir.path().join(format!("docker-credential-{name}"));
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n\
                 [ \"$1\" = get ] || exit 1\n\
                 server=$(cat)\n\
                 printf '%s\\n' \"$server\" >> '{asked}'\n\
                 printf '{{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}}\\n' \
                   \"$server\" '{username}' '{secret}'\n",
                asked = dir.path().join("asked").display()
            ),
        )
        .expect("helper script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Self {
            name: name.to_owned(),
            dir,
        }
    }

    /// `PATH` with the helper's directory first.
    pub fn path_env(&self) -> std::ffi::OsString {
        let mut paths = vec![self.dir.path().to_path_buf()];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(paths).expect("PATH")
    }

    /// An auth file naming this helper for `host` (`credHelpers`), in the
    /// helper's directory.
    pub fn auth_file_for(&self, host: &str) -> PathBuf {
        let file = self.dir.path().join("auth.json");
        let json = serde_json::json!({ "credHelpers": { host: self.name } });
        std::fs::write(&file, json.to_string()).expect("auth file");
        file
    }

    /// The server addresses it was asked for, in order.
    pub fn asked(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("asked"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}
