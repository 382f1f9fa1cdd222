//! URIs as a plan line or a log shows them: an MCP endpoint may carry
//! credentials in its user information or query (`https://user:token@host/sse`,
//! `...?api_key=...`), which must not reach a log.

/// `uri` without its user information and query (each replaced by `…`)
/// and without its fragment.
pub(crate) fn shown_uri(uri: &str) -> String {
    let (scheme, rest) = match uri.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), uri),
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let (rest, query) = match rest.split_once('?') {
        Some((rest, _)) => (rest, "?…"),
        None => (rest, ""),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => authority.to_owned(),
    };
    format!("{scheme}{authority}{path}{query}")
}

#[cfg(test)]
mod tests {
    use super::shown_uri;

    #[test]
    fn a_plain_uri_is_shown_as_it_is() {
        assert_eq!(
            shown_uri("http://self-service-agent-snow:8000/sse"),
            "http://self-service-agent-snow:8000/sse"
        );
    }

    #[test]
    fn user_information_and_query_are_left_out() {
        assert_eq!(
            shown_uri("https://svc:s3cret@mcp.example:8443/sse?token=abc#top"),
            "https://…@mcp.example:8443/sse?…"
        );
    }

    #[test]
    fn an_at_sign_in_the_path_is_not_user_information() {
        assert_eq!(shown_uri("http://host/a@b"), "http://host/a@b");
    }
}
