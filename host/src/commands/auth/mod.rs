//! `baseten auth login | logout | switch | status | list`: stored profiles and the credential in
//! use (README, "Profiles and authentication"). Storage is `crate::profiles`; which credential a
//! command uses is `crate::credentials`.

pub mod list;
pub mod login;
pub mod logout;
pub mod status;
pub mod switch;

use baseten_plugin_api::protocol::GroupSpec;

use crate::commands::Request;
use crate::error::CliError;

/// The `auth` group.
pub fn group() -> GroupSpec {
    GroupSpec {
        path: vec!["auth".to_owned()],
        about: "Log in, switch between profiles and see the credential in use".to_owned(),
    }
}

/// The global `--profile`, which `command` cannot do without; `usage` shows how to give it.
fn required_profile<'a>(
    request: &Request<'a>,
    command: &str,
    usage: &str,
) -> Result<&'a str, CliError> {
    match request.profile {
        Some(name) if !name.trim().is_empty() => Ok(name),
        Some(_) => Err(CliError::usage("`--profile` may not be empty")),
        None => Err(
            CliError::usage(format!("`--profile` is required for `{command}`"))
                .with_hint(format!("run `{usage}`")),
        ),
    }
}

/// An API key as it may be shown: its public prefix, the secret hidden.
pub fn mask(api_key: &str) -> String {
    match api_key.split_once('.') {
        Some((prefix, _)) if !prefix.is_empty() && prefix.len() <= 12 => format!("{prefix}.****"),
        _ => "****".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_masked_down_to_its_prefix() {
        assert_eq!(mask("abcd1234.s3cretS3cret"), "abcd1234.****");
        assert_eq!(mask("no-dot-in-this-key"), "****");
        assert_eq!(mask(".leading"), "****");
        assert_eq!(mask("averyveryverylongprefix.x"), "****");
    }
}
