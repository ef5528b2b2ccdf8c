//! From a remote URL (what a user logs in to) to the management API base the tool calls.

use url::{Host, Url};

use crate::error::CliError;

/// The remote used when none is configured.
pub const DEFAULT_REMOTE_URL: &str = "https://app.baseten.co";

/// The API base for `remote`: `app.` becomes `api.`, loopback and IP literals are kept, any
/// other host gets `api.` in front.
pub fn api_base_for_remote(remote: &str) -> Result<Url, CliError> {
    let url = parse_base(remote, "remote URL")?;
    let host = match url.host() {
        Some(Host::Domain(domain)) if domain.eq_ignore_ascii_case("localhost") => return Ok(url),
        Some(Host::Domain(domain)) => domain.to_ascii_lowercase(),
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => return Ok(url),
        None => return Err(invalid(remote, "remote URL", "it has no host")),
    };
    let api_host = match host.strip_prefix("app.") {
        Some(rest) => format!("api.{rest}"),
        None => format!("api.{host}"),
    };
    let mut api = url.clone();
    api.set_host(Some(&api_host))
        .map_err(|error| invalid(remote, "remote URL", &error.to_string()))?;
    Ok(api)
}

/// Parses an API base given as is (`BASETEN_MANAGEMENT_API_URL_OVERRIDE`).
pub fn api_base_override(value: &str) -> Result<Url, CliError> {
    parse_base(value, "management API URL")
}

/// A scheme and host (and port) only; plain `http` only to this machine.
fn parse_base(text: &str, what: &str) -> Result<Url, CliError> {
    let url = Url::parse(text.trim()).map_err(|error| invalid(text, what, &error.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(invalid(
                text,
                what,
                "plain http is only allowed to this machine (127.0.0.1, ::1, localhost)",
            )
            .with_hint("use an https:// URL"));
        }
        scheme => {
            return Err(invalid(
                text,
                what,
                &format!("scheme `{scheme}` is not http or https"),
            ));
        }
    }
    if url.host().is_none() {
        return Err(invalid(text, what, "it has no host"));
    }
    if !(url.path().is_empty() || url.path() == "/")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(
            invalid(text, what, "it may not have a path, query or fragment")
                .with_hint("give only the scheme and host, e.g. https://app.baseten.co"),
        );
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            text,
            what,
            "it may not carry a user name or password",
        ));
    }
    Ok(url)
}

/// Whether the URL's host is this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

fn invalid(text: &str, what: &str, why: &str) -> CliError {
    CliError::usage(format!("invalid {what} `{text}`: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(remote: &str) -> String {
        api_base_for_remote(remote).expect("maps").to_string()
    }

    #[test]
    fn the_default_remote_maps_to_the_api_host() {
        assert_eq!(base("https://app.baseten.co"), "https://api.baseten.co/");
    }

    #[test]
    fn app_hosts_become_api_hosts_and_others_get_api_in_front() {
        assert_eq!(
            base("https://app.staging.baseten.co"),
            "https://api.staging.baseten.co/"
        );
        assert_eq!(
            base("https://example.com:8443"),
            "https://api.example.com:8443/"
        );
    }

    #[test]
    fn loopback_and_ip_literals_are_kept() {
        assert_eq!(base("http://127.0.0.1:8080"), "http://127.0.0.1:8080/");
        assert_eq!(base("http://localhost:1"), "http://localhost:1/");
        assert_eq!(base("http://[::1]:9"), "http://[::1]:9/");
        assert_eq!(base("https://10.1.2.3"), "https://10.1.2.3/");
    }

    #[test]
    fn paths_queries_and_fragments_are_usage_errors() {
        for remote in [
            "https://app.baseten.co/x",
            "https://app.baseten.co?a=1",
            "https://app.baseten.co#f",
        ] {
            let error = api_base_for_remote(remote).expect_err("refused");
            assert_eq!(error.kind, baseten_plugin_api::ErrorKind::Usage, "{remote}");
            assert!(error.message.contains(remote), "{}", error.message);
        }
    }

    #[test]
    fn plain_http_to_another_host_is_refused() {
        let error = api_base_override("http://example.com").expect_err("refused");
        assert!(
            error.message.contains("http://example.com"),
            "{}",
            error.message
        );
        assert!(api_base_override("http://127.0.0.2:80").is_ok());
        assert!(api_base_override("ftp://127.0.0.1").is_err());
    }
}
