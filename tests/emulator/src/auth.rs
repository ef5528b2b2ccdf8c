//! Who is calling: the `Authorization` header, in either of the schemes the service accepts
//! (`Api-Key <key>` and `Bearer <key>`), checked against the stored secret hashes. `Bearer` also
//! takes the access token of a browser login.

use axum::http::{HeaderMap, header};

use crate::http_error::HttpError;
use crate::shared::Shared;
use crate::state::{KeyType, hash_secret};

/// How the caller presented its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    ApiKey,
    Bearer,
}

impl Scheme {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::ApiKey => "Api-Key",
            Scheme::Bearer => "Bearer",
        }
    }
}

/// The scheme and credential of the `Authorization` header, if it has a known scheme.
/// Schemes are case-insensitive, as HTTP says.
pub(crate) fn credential(headers: &HeaderMap) -> Option<(Scheme, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let scheme = if scheme.eq_ignore_ascii_case("Api-Key") {
        Scheme::ApiKey
    } else if scheme.eq_ignore_ascii_case("Bearer") {
        Scheme::Bearer
    } else {
        return None;
    };
    Some((scheme, token.trim()))
}

/// The type of the calling key, or 401.
pub(crate) fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<KeyType, HttpError> {
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(HttpError::unauthorized(
            "missing `Authorization` header; send `Api-Key <key>`",
        ));
    }
    let Some((scheme, token)) = credential(headers) else {
        return Err(HttpError::unauthorized(
            "malformed `Authorization` header; send `Api-Key <key>` or `Bearer <key>`",
        ));
    };
    // A browser login's access token acts for the workspace's one user, who may manage keys.
    if scheme == Scheme::Bearer {
        if shared.oauth().access_token_is_live(token) {
            return Ok(KeyType::Personal);
        }
        if !token.contains('.') {
            return Err(HttpError::unauthorized("invalid or expired access token"));
        }
    }
    let Some((prefix, secret)) = token.split_once('.') else {
        return Err(HttpError::unauthorized(
            "malformed API key; expected `<prefix>.<secret>`",
        ));
    };
    // Hashing before taking the lock keeps the lock short.
    let secret_hash = hash_secret(secret);
    shared
        .read(|state| state.authenticate(prefix, &secret_hash))
        .ok_or_else(|| HttpError::unauthorized("invalid API key"))
}

/// The type of the calling key if it may manage keys and teams; 401 or 403 otherwise.
pub(crate) fn authenticate_manager(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<KeyType, HttpError> {
    let key_type = authenticate(shared, headers)?;
    if key_type.can_manage_keys() {
        Ok(key_type)
    } else {
        Err(HttpError::forbidden(format!(
            "a {} key cannot manage API keys or teams",
            key_type.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn both_schemes_are_recognised_case_insensitively() {
        assert_eq!(
            credential(&headers("Api-Key abc.def")),
            Some((Scheme::ApiKey, "abc.def"))
        );
        assert_eq!(
            credential(&headers("bearer abc.def")),
            Some((Scheme::Bearer, "abc.def"))
        );
        assert_eq!(credential(&headers("Basic abc")), None);
        assert_eq!(credential(&headers("Api-Key")), None);
        assert_eq!(credential(&HeaderMap::new()), None);
    }
}
