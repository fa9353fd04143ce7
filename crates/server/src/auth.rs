//! Who is calling: the key from HTTP Basic (user = key, empty password), a Bearer token, or the
//! body's `writeKey`, looked up in the store and cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use base64::Engine as _;
use subtle::ConstantTimeEq as _;
use tenure_core::WorkspaceId;
use tenure_store::{ApiKey, Scope, Store};

use crate::ApiError;

/// How long a key found in the store is trusted without asking it again: a key revoked by
/// `tenure keys revoke` (or another server sharing the store) stops working within this.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// Keys seen recently, so a request costs a hash-map lookup rather than a database query. Misses
/// and entries older than [`KEY_CACHE_TTL`] go to the store, so a key created by `tenure keys
/// create` works at once and a revoked one stops within seconds.
#[derive(Debug, Default)]
pub struct KeyCache {
    known: Mutex<HashMap<String, (ApiKey, Instant)>>,
    /// A read key the store does not hold: the token `tenure serve` writes to the data
    /// directory's `server.json`, so the CLI on this machine can ask the running server.
    local: Option<(String, ApiKey)>,
}

impl KeyCache {
    /// Also accepts `secret` as a read key for `workspace`, for as long as this server runs.
    pub fn with_local_key(secret: String, workspace: WorkspaceId) -> Self {
        let key = ApiKey {
            workspace,
            scope: Scope::Read,
            prefix: "local".into(),
        };
        Self {
            local: Some((secret, key)),
            ..Self::default()
        }
    }

    pub fn lookup(&self, store: &Arc<dyn Store>, secret: &str) -> Result<Option<ApiKey>, ApiError> {
        if let Some((local, key)) = &self.local {
            // Constant-time: the token is a secret compared against whatever a caller sends.
            if bool::from(local.as_bytes().ct_eq(secret.as_bytes())) {
                return Ok(Some(key.clone()));
            }
        }
        if let Some((key, seen)) = self.known.lock().expect("key cache").get(secret) {
            if seen.elapsed() < KEY_CACHE_TTL {
                return Ok(Some(key.clone()));
            }
        }
        let found = store.find_key(secret)?;
        let mut known = self.known.lock().expect("key cache");
        match &found {
            Some(key) => {
                known.insert(secret.to_owned(), (key.clone(), Instant::now()));
            }
            None => {
                known.remove(secret);
            }
        }
        Ok(found)
    }

    /// Forgets every key, so the next request of each asks the store (after a revocation here).
    pub fn forget_all(&self) {
        self.known.lock().expect("key cache").clear();
    }

    /// Resolves `secret` (if any) and checks it allows `needed`.
    pub fn authorize(
        &self,
        store: &Arc<dyn Store>,
        secret: Option<&str>,
        needed: Scope,
    ) -> Result<ApiKey, ApiError> {
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return Err(ApiError::unauthorized(
                "missing_key",
                "no key given: send it as the HTTP Basic user name, a Bearer token, or writeKey in the body",
            ));
        };
        let Some(key) = self.lookup(store, secret)? else {
            return Err(ApiError::unauthorized(
                "invalid_key",
                "the key is not known",
            ));
        };
        // The request's log line names the workspace its key is of (`request_log`).
        tracing::Span::current().record("workspace", key.workspace.as_str());
        let allowed = match needed {
            Scope::Write => key.scope.can_write(),
            Scope::Read => key.scope.can_read(),
            Scope::Admin => key.scope == Scope::Admin,
        };
        if !allowed {
            return Err(ApiError::forbidden(
                "wrong_scope",
                format!(
                    "this is a {} key; this call needs a {} key",
                    key.scope, needed
                ),
            ));
        }
        Ok(key)
    }
}

/// The key carried by the `Authorization` header, if any: Basic `key:` or Bearer `key`.
pub fn header_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::unauthorized(
            "invalid_authorization",
            "the Authorization header is neither `Basic base64(key:)` nor `Bearer key`",
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    // RFC 9110 §11.1: the scheme name is case-insensitive, and one or more spaces follow it.
    let (scheme, credentials) = text.split_once(' ').ok_or_else(bad)?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let user = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
        return Ok(Some(user.to_owned()).filter(|u| !u.is_empty()));
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(credentials.to_owned()).filter(|t| !t.is_empty()));
    }
    Err(bad())
}

/// Middleware for the read API: a key in the query string is refused rather than ignored.
/// URLs are kept by proxies, access logs and browser histories, so a key sent there has
/// leaked; ignoring it would only turn the mistake into a puzzling 401.
pub(crate) async fn refuse_key_in_url(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let named_key = request.uri().query().is_some_and(|query| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "key")
    });
    if named_key {
        return ApiError::bad_request(
            "key_in_url",
            "keys are not accepted in the URL, where proxies and access logs keep them: send \
             the read key in the Authorization header (`Bearer KEY`, or Basic with the key as \
             the user name), and consider this one leaked",
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn reads_basic_and_bearer() {
        // base64("WK:") = "V0s6"
        assert_eq!(
            header_key(&headers("Basic V0s6")).unwrap().as_deref(),
            Some("WK")
        );
        assert_eq!(
            header_key(&headers("Bearer WK")).unwrap().as_deref(),
            Some("WK")
        );
        assert_eq!(header_key(&HeaderMap::new()).unwrap(), None);
        for value in [
            "BASIC V0s6",
            "bAsIc V0s6",
            "BEARER WK",
            "bEaReR WK",
            "Bearer   WK",
        ] {
            assert_eq!(
                header_key(&headers(value)).unwrap().as_deref(),
                Some("WK"),
                "{value}"
            );
        }
        assert!(header_key(&headers("BearerWK")).is_err());
        assert!(header_key(&headers("Digest abc")).is_err());
        assert!(header_key(&headers("Basic !!!")).is_err());
    }
}
