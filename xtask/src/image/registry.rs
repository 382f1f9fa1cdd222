//! Pushing: registry credentials (environment, else the usual auth files),
//! then `skopeo copy` of the OCI archive, `docker push`, or, with no
//! container tool, the registry API (oci-client) pushing the archive's
//! blobs and manifest unchanged. Either way the pushed digest is the
//! archive's manifest digest.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::oci::OciArchive;
use super::settings::ImageRef;
use crate::workspace::display;

/// Registry credentials and where they came from (for error messages;
/// the password itself is never printed).
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub source: String,
}

/// `REGISTRY_USERNAME` + `REGISTRY_PASSWORD`, else the first auth file
/// (`REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `~/.config/containers/auth.json`, `~/.docker/config.json`) with an entry
/// for the image's registry, else none (anonymous).
pub fn credentials(image: &ImageRef) -> Result<Option<Credentials>> {
    let username = std::env::var("REGISTRY_USERNAME")
        .ok()
        .filter(|v| !v.is_empty());
    let password = std::env::var("REGISTRY_PASSWORD").ok();
    match (username, password) {
        (Some(username), Some(password)) => {
            return Ok(Some(Credentials {
                username,
                password,
                source: "REGISTRY_USERNAME/REGISTRY_PASSWORD".to_owned(),
            }));
        }
        (Some(_), None) => bail!("REGISTRY_USERNAME is set but REGISTRY_PASSWORD is not"),
        _ => {}
    }
    for file in auth_files() {
        if let Some(credentials) = from_auth_file(&file, image)? {
            return Ok(Some(credentials));
        }
    }
    Ok(None)
}

fn auth_files() -> Vec<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = var("HOME");
    let config_home = var("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
    [
        var("REGISTRY_AUTH_FILE"),
        var("XDG_RUNTIME_DIR").map(|dir| dir.join("containers/auth.json")),
        config_home.map(|dir| dir.join("containers/auth.json")),
        home.map(|dir| dir.join(".docker/config.json")),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The most specific entry of `{"auths": {"host[/path]": {"auth": base64(user:pass)}}}`.
fn from_auth_file(file: &Path, image: &ImageRef) -> Result<Option<Credentials>> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(None);
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    let Some(auths) = json["auths"].as_object() else {
        return Ok(None);
    };
    let best = auths
        .iter()
        .filter_map(|(key, entry)| {
            let key = key
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let key = key.trim_end_matches('/');
            let matches = image.repository == key
                || image.repository.starts_with(&format!("{key}/"))
                || key == image.registry_host();
            matches.then_some((key.len(), entry))
        })
        .max_by_key(|(len, _)| *len);
    let Some((_, entry)) = best else {
        return Ok(None);
    };
    let Some(encoded) = entry["auth"].as_str() else {
        return Ok(None);
    };
    let decoded = BASE64
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .with_context(|| {
            format!(
                "{}: an `auth` entry is not base64 of user:password",
                file.display()
            )
        })?;
    let (username, password) = decoded
        .split_once(':')
        .with_context(|| format!("{}: an `auth` entry is not user:password", file.display()))?;
    Ok(Some(Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
        source: format!("auth file {}", file.display()),
    }))
}

/// Names the credentials in a rejected push, without echoing them.
fn rejected(host: &str, credentials: Option<&Credentials>, detail: &str) -> anyhow::Error {
    match credentials {
        Some(credentials) => anyhow!(
            "registry {host} rejected the credentials from {} (user {:?}): {detail}",
            credentials.source,
            credentials.username
        ),
        None => anyhow!(
            "registry {host} requires credentials and none were found: set \
             REGISTRY_USERNAME and REGISTRY_PASSWORD, or log in (podman login, \
             docker login) so an auth file holds them: {detail}"
        ),
    }
}

/// `skopeo copy oci-archive:<archive> docker://<image>`; returns the digest.
pub fn push_with_skopeo(
    archive: &Path,
    image: &ImageRef,
    credentials: Option<&Credentials>,
    tls_verify: bool,
) -> Result<String> {
    let scratch = tempfile::tempdir()?;
    let digest_file = scratch.path().join("digest");
    let mut command = Command::new("skopeo");
    command
        .args(["copy", "--quiet", "--preserve-digests", "--digestfile"])
        .arg(&digest_file)
        .arg(format!("--dest-tls-verify={tls_verify}"));
    if let Some(credentials) = credentials {
        // An auth file rather than --dest-creds keeps the password out of
        // the process list.
        let auth_file = scratch.path().join("auth.json");
        write_auth_file(&auth_file, image.registry_host(), credentials)?;
        command.arg("--dest-authfile").arg(&auth_file);
    }
    command
        .arg(format!("oci-archive:{}", archive.display()))
        .arg(format!("docker://{}", image.reference()));
    eprintln!("+ {}", display(&command));
    let output = command.output().context("running skopeo")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if is_auth_failure(&stderr) {
            return Err(rejected(image.registry_host(), credentials, stderr.trim()));
        }
        bail!(
            "skopeo copy to {} failed: {}",
            image.reference(),
            stderr.trim()
        );
    }
    Ok(std::fs::read_to_string(&digest_file)?.trim().to_owned())
}

fn write_auth_file(path: &Path, host: &str, credentials: &Credentials) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let auth = BASE64.encode(format!("{}:{}", credentials.username, credentials.password));
    let json = serde_json::json!({ "auths": { host: { "auth": auth } } });
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    std::io::Write::write_all(&mut file, json.to_string().as_bytes())?;
    Ok(())
}

fn is_auth_failure(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "unauthorized",
        "authentication required",
        "401",
        "invalid username/password",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// `docker push`; returns the digest docker reports.
pub fn push_with_docker(image: &ImageRef, credentials: Option<&Credentials>) -> Result<String> {
    if let Some(credentials) = credentials {
        let mut login = Command::new("docker");
        login
            .args([
                "login",
                "--username",
                &credentials.username,
                "--password-stdin",
            ])
            .arg(image.registry_host())
            .stdin(std::process::Stdio::piped());
        let mut child = login.spawn().context("running docker login")?;
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, credentials.password.as_bytes())?;
        }
        if !child.wait()?.success() {
            return Err(rejected(
                image.registry_host(),
                Some(credentials),
                "docker login failed",
            ));
        }
    }
    let output = Command::new("docker")
        .args(["push", &image.reference()])
        .output()
        .context("running docker push")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        if is_auth_failure(&stderr) {
            return Err(rejected(image.registry_host(), credentials, stderr.trim()));
        }
        bail!(
            "docker push {} failed: {}",
            image.reference(),
            stderr.trim()
        );
    }
    stdout
        .split_whitespace()
        .skip_while(|word| *word != "digest:")
        .nth(1)
        .map(str::to_owned)
        .with_context(|| format!("docker push printed no digest: {stdout}"))
}

/// Pushes the archive through the registry API, blobs first, then the
/// manifest bytes exactly as they are in the archive.
pub fn push_native(
    archive: &OciArchive,
    image: &ImageRef,
    credentials: Option<&Credentials>,
    tls_verify: bool,
) -> Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(push_native_async(archive, image, credentials, tls_verify))
}

async fn push_native_async(
    archive: &OciArchive,
    image: &ImageRef,
    credentials: Option<&Credentials>,
    tls_verify: bool,
) -> Result<String> {
    let host = image.registry_host();
    let reference: Reference = image
        .reference()
        .parse()
        .with_context(|| format!("image reference {}", image.reference()))?;
    let protocol = if tls_verify {
        ClientProtocol::Https
    } else {
        ClientProtocol::HttpsExcept(vec![host.to_owned()])
    };
    let client = Client::new(ClientConfig {
        protocol,
        ..ClientConfig::default()
    });
    let auth = match credentials {
        Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
        None => RegistryAuth::Anonymous,
    };
    let explain = |error: OciDistributionError| -> anyhow::Error {
        let text = error.to_string();
        let auth_failure = matches!(
            error,
            OciDistributionError::AuthenticationFailure(_)
                | OciDistributionError::UnauthorizedError { .. }
        ) || is_auth_failure(&text);
        if auth_failure {
            rejected(host, credentials, &text)
        } else {
            anyhow!("pushing to {}: {text}", image.reference())
        }
    };
    client
        .auth(&reference, &auth, RegistryOperation::Push)
        .await
        .map_err(explain)?;
    for digest in archive.manifest_blobs()? {
        if client
            .blob_exists(&reference, &digest)
            .await
            .map_err(explain)?
        {
            continue;
        }
        let data = archive.blob(&digest)?.to_vec();
        client
            .push_blob(&reference, data, &digest)
            .await
            .map_err(explain)?;
    }
    let content_type = archive
        .manifest_media_type
        .parse()
        .context("manifest media type")?;
    client
        .push_manifest_raw(&reference, archive.manifest()?.to_vec(), content_type)
        .await
        .map_err(explain)?;
    Ok(archive.manifest_digest.clone())
}
