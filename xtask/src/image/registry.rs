//! Pushing: registry credentials (environment, else the usual auth files
//! and the credential helpers they name), then `skopeo copy` of the OCI
//! archive, `docker push`, or, with no container tool, the registry API
//! (oci-client) pushing the archive's blobs and manifest unchanged. Either
//! way the pushed digest is the archive's manifest digest.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::oci::OciArchive;
use super::settings::{ImageRef, split_registry};
use crate::workspace::display;

/// Registry credentials and where they came from (for error messages;
/// the password itself is never printed).
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub source: String,
}

/// `REGISTRY_USERNAME` + `REGISTRY_PASSWORD`, else the first auth file
/// that has credentials for the image's registry, else none (anonymous).
/// The auth files are those podman and docker read, in podman's order:
/// `REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `~/.config/containers/auth.json`, then docker's `config.json`.
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
    let docker_config = var("DOCKER_CONFIG").or_else(|| home.map(|dir| dir.join(".docker")));
    [
        var("REGISTRY_AUTH_FILE"),
        var("XDG_RUNTIME_DIR").map(|dir| dir.join("containers/auth.json")),
        config_home.map(|dir| dir.join("containers/auth.json")),
        docker_config.map(|dir| dir.join("config.json")),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What one auth file gives for the image, read by `docker_credential`: an
/// `auths` entry, or a login from the credential helper it names for the
/// registry (`credHelpers`) or for every registry (`credsStore`). The most
/// specific key wins (`host/namespace/repo`, ..., `host`), as with podman.
fn from_auth_file(file: &Path, image: &ImageRef) -> Result<Option<Credentials>> {
    let Ok(config) = std::fs::read(file) else {
        return Ok(None);
    };
    for server in lookup_keys(image) {
        match docker_credential::get_credential_from_reader(config.as_slice(), &server) {
            Ok(DockerCredential::UsernamePassword(username, password)) => {
                return Ok(Some(Credentials {
                    username,
                    password,
                    source: format!("auth file {} (for {server})", file.display()),
                }));
            }
            Ok(DockerCredential::IdentityToken(_)) => bail!(
                "{}: the login for {server} is an identity token; pushing needs a user name \
                 and password (set REGISTRY_USERNAME and REGISTRY_PASSWORD)",
                file.display()
            ),
            Err(CredentialRetrievalError::NoCredentialConfigured) => {}
            // A `credsStore` is asked for every key; "not found" is the
            // protocol's answer for a key it has no login for.
            Err(CredentialRetrievalError::HelperFailure { stdout, .. })
                if stdout.contains("credentials not found") => {}
            Err(CredentialRetrievalError::ConfigReadError) => {
                bail!("{} is not an auth file (JSON)", file.display())
            }
            Err(error) => bail!("{}: the login for {server}: {error}", file.display()),
        }
    }
    Ok(None)
}

/// The keys an auth file may hold the image's login under, most specific
/// first: `host/namespace/repo`, `host/namespace`, `host`.
fn lookup_keys(image: &ImageRef) -> Vec<String> {
    let host = image.registry_host();
    let path = split_registry(&image.repository).1;
    let mut keys = vec![host.to_owned()];
    let mut key = host.to_owned();
    for component in path.split('/') {
        key = format!("{key}/{component}");
        keys.push(key.clone());
    }
    keys.reverse();
    keys
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
        return Err(push_failed(
            "skopeo copy",
            image,
            credentials,
            &output.stderr,
        ));
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

/// A push tool's failure: a refused login names the credentials.
fn push_failed(
    tool: &str,
    image: &ImageRef,
    credentials: Option<&Credentials>,
    stderr: &[u8],
) -> anyhow::Error {
    let stderr = String::from_utf8_lossy(stderr);
    if is_auth_failure(&stderr) {
        rejected(image.registry_host(), credentials, stderr.trim())
    } else {
        anyhow!("{tool} to {} failed: {}", image.reference(), stderr.trim())
    }
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
    if !output.status.success() {
        return Err(push_failed(
            "docker push",
            image,
            credentials,
            &output.stderr,
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
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
