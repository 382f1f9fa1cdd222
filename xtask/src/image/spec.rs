//! What each image holds, in one place: the Containerfile and build
//! arguments a container tool gets, the files staged into its build
//! context, and the same layers and configuration as data for the archive
//! xtask writes itself when there is no container tool. A test builds both
//! ways and compares them, so the Containerfiles and this module cannot
//! drift apart unnoticed.

use std::path::PathBuf;

use anyhow::Result;

use super::settings::{ImageSettings, Template, template_description};
use crate::workspace::root;

/// Packages of the unified image; each builds a binary of the same name.
pub const AGENT_BINARIES: [&str; 3] = ["db-migrate", "register-assets", "self-service-agent"];
/// Where the CA bundle lives in the image (and on Debian hosts).
pub const CA_BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";
/// The runtime user: numeric, so Kubernetes can verify `runAsNonRoot`.
pub const RUNTIME_USER: &str = "1001";
/// The cargo profile of the MCP template's binaries (root `Cargo.toml`):
/// optimised for size, as `Containerfile.mcp-template` builds them too.
pub const MCP_PROFILE: &str = "release-small";

#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub containerfile: PathBuf,
    pub build_args: Vec<(String, String)>,
    /// Cargo packages to build for the musl target, and in which profile.
    pub packages: Vec<String>,
    pub profile: &'static str,
    /// Whether the default asset directory is staged at `app/config`.
    pub with_assets: bool,
    pub layers: Vec<LayerSpec>,
    pub config: ConfigSpec,
}

/// One layer: paths of the staged root filesystem copied to paths in the
/// image, like one `COPY --from=binaries` line.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    /// (relative path in the staged rootfs, absolute path in the image)
    pub copies: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ConfigSpec {
    pub user: String,
    pub env: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub exposed_ports: Vec<String>,
    pub labels: Vec<(String, String)>,
}

pub fn image_spec(settings: &ImageSettings) -> Result<ImageSpec> {
    let mut build_args = vec![
        ("BINARIES".to_owned(), "host".to_owned()),
        ("VERSION".to_owned(), settings.version.clone()),
        ("REVISION".to_owned(), settings.revision.clone()),
        ("CREATED".to_owned(), settings.created()?),
    ];
    let labels = settings.labels()?;
    let ca_layer = LayerSpec {
        copies: vec![(CA_BUNDLE.to_owned(), format!("/{CA_BUNDLE}"))],
    };
    let base_env = vec![
        "PATH=/usr/local/bin".to_owned(),
        format!("SSL_CERT_FILE=/{CA_BUNDLE}"),
    ];
    let spec = match &settings.template {
        None => ImageSpec {
            containerfile: root().join("Containerfile"),
            build_args,
            packages: AGENT_BINARIES
                .iter()
                .map(|name| (*name).to_owned())
                .collect(),
            profile: "release",
            with_assets: true,
            layers: vec![
                ca_layer,
                LayerSpec {
                    copies: vec![("app/config".to_owned(), "/app/config".to_owned())],
                },
                LayerSpec {
                    copies: vec![("usr/local/bin".to_owned(), "/usr/local/bin".to_owned())],
                },
            ],
            config: ConfigSpec {
                user: RUNTIME_USER.to_owned(),
                env: base_env,
                entrypoint: None,
                cmd: Some(vec!["/usr/local/bin/self-service-agent".to_owned()]),
                exposed_ports: vec!["8080/tcp".to_owned()],
                labels,
            },
        },
        Some((template, binary)) => {
            let (installed, port) = match template {
                Template::Services => ("/usr/local/bin/service", "8080"),
                Template::Mcp => ("/usr/local/bin/mcp-server", "8000"),
            };
            build_args.push(("BINARY".to_owned(), binary.clone()));
            build_args.push((
                "DESCRIPTION".to_owned(),
                template_description(*template, binary),
            ));
            let mut env = base_env;
            env.push(format!("LISTEN_ADDR=0.0.0.0:{port}"));
            if *template == Template::Mcp {
                env.push("MCP_TRANSPORT=streamable-http".to_owned());
            }
            ImageSpec {
                containerfile: root().join(format!("Containerfile.{}-template", template.name())),
                build_args,
                packages: vec![binary.clone()],
                profile: match template {
                    Template::Services => "release",
                    Template::Mcp => MCP_PROFILE,
                },
                with_assets: false,
                layers: vec![
                    ca_layer,
                    LayerSpec {
                        copies: vec![(format!("usr/local/bin/{binary}"), installed.to_owned())],
                    },
                ],
                config: ConfigSpec {
                    user: RUNTIME_USER.to_owned(),
                    env,
                    entrypoint: Some(vec![installed.to_owned()]),
                    cmd: None,
                    exposed_ports: vec![format!("{port}/tcp")],
                    labels,
                },
            }
        }
    };
    Ok(spec)
}
