//! The project's own MCP servers, each shipped as an image of its own built
//! from `Containerfile.mcp-template`. Their images are named after the agent
//! image, so one reference (`AGENT_IMG`, or `$REGISTRY/self-service-agent:$VERSION`)
//! names all three: `quay.io/org/self-service-agent:1.0` goes with
//! `quay.io/org/self-service-agent-employee-info-mcp:1.0` and
//! `quay.io/org/self-service-agent-snow-mcp:1.0`. The chart derives the same
//! names from its `image` values (`helm/templates/_helpers.tpl`, `mcpImage`).

use super::settings::ImageRef;

/// One MCP server of the workspace and where its image goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct McpServer {
    /// The binary, a cargo package of the same name.
    pub binary: &'static str,
    /// Appended to the agent image's repository (`<repository>-<suffix>`).
    pub repository_suffix: &'static str,
    /// The chart's values block of the server: `mcpServers.<values_key>`.
    pub values_key: &'static str,
}

/// Every MCP server `build-image --all` builds and `helm` pins.
pub const MCP_SERVERS: [McpServer; 2] = [
    McpServer {
        binary: "mcp-employee-info",
        repository_suffix: "employee-info-mcp",
        values_key: "employeeInfo",
    },
    McpServer {
        binary: "mcp-snow",
        repository_suffix: "snow-mcp",
        values_key: "snow",
    },
];

/// The project's MCP server of that binary, if it is one.
pub fn mcp_server(binary: &str) -> Option<McpServer> {
    MCP_SERVERS
        .into_iter()
        .find(|server| server.binary == binary)
}

impl McpServer {
    /// Its image beside `agent`: same registry and tag, the repository
    /// with the server's suffix.
    pub fn image_beside(&self, agent: &ImageRef) -> ImageRef {
        ImageRef {
            repository: format!("{}-{}", agent.repository, self.repository_suffix),
            tag: agent.tag.clone(),
        }
    }

    /// The file `build-image` records its last build in, under the output
    /// directory (`target/image`).
    pub fn record_file_name(&self) -> String {
        super::settings::record_file_name(&format!("mcp-{}", self.binary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mcp_image_is_named_after_the_agent_image() {
        let agent = ImageRef::parse("127.0.0.1:5000/team/self-service-agent:1.2").unwrap();
        let image = MCP_SERVERS[0].image_beside(&agent);
        assert_eq!(
            image.reference(),
            "127.0.0.1:5000/team/self-service-agent-employee-info-mcp:1.2"
        );
        assert_eq!(
            MCP_SERVERS[1].image_beside(&agent).reference(),
            "127.0.0.1:5000/team/self-service-agent-snow-mcp:1.2"
        );
    }

    #[test]
    fn only_the_workspaces_mcp_servers_are_known() {
        assert_eq!(mcp_server("mcp-snow"), Some(MCP_SERVERS[1]));
        assert_eq!(mcp_server("my-mcp-server"), None);
    }
}
