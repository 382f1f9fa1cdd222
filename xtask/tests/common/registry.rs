//! A throwaway `docker-registry` on a free loopback port: plain HTTP,
//! htpasswd basic auth (bcrypt), storage in a temporary directory.

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
        let output = Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--creds"])
            .arg(format!("{USER}:{PASSWORD}"))
            .arg(format!("docker://{reference}"))
            .output()
            .expect("running skopeo inspect");
        assert!(
            output.status.success(),
            "skopeo inspect {reference}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("skopeo JSON");
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
