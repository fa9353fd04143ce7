//! The `Tenure-Signature` header, Stripe's scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of
//! `"<t>.<raw body>"` under the destination's secret. The timestamp is inside what is signed, so
//! a receiver that refuses old timestamps refuses a captured request replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a signature's timestamp may be from the receiver's clock, either way, in seconds:
/// what Stripe's libraries use, and what `verify` callers should pass unless they know better.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused. Receivers should answer 400 (or 401) and not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Tenure-Signature header is malformed ({0}): expected t=<unix seconds>,v1=<hex>")]
    Malformed(&'static str),
    #[error("the signature's timestamp {timestamp} is {age} s away from now ({now}), more than the tolerance of {tolerance} s: a replayed request, or a clock out of sync")]
    OutsideTolerance {
        timestamp: i64,
        now: i64,
        age: i64,
        tolerance: i64,
    },
    #[error("no v1 signature matches the body under this secret: a wrong secret, or a body changed on the way (verify the raw bytes received, before any JSON parsing)")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Tenure-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Checks a `Tenure-Signature` header against the raw body received: a `v1` signature (any of
/// several, so a secret can be rotated with both signing) must match under `secret`, compared
/// in constant time, and the timestamp must be within `tolerance_secs` of `now_unix`.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed("a part is not key=value"));
        };
        match key {
            "t" => {
                let t = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed("t is not a whole number of seconds"))?;
                timestamp = Some(t);
            }
            // A v1 that is not hex cannot match; skipping it keeps the others usable.
            "v1" => signatures.extend(hex::decode(value).ok()),
            // Later schemes (v2, …) are ignored, as Stripe's receivers ignore unknown ones.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no t="))?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed("no v1="));
    }
    // Signature before time: a forged header learns nothing about our clock.
    let matched = signatures
        .iter()
        .any(|s| mac(secret, timestamp, body).verify_slice(s).is_ok());
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age = now_unix.saturating_sub(timestamp).saturating_abs();
    if age > tolerance_secs {
        return Err(SignatureError::OutsideTolerance {
            timestamp,
            now: now_unix,
            age,
            tolerance: tolerance_secs,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"playbook":"renewal_90","account":"acme"}"#;
    const T: i64 = 1_767_225_600;

    #[test]
    fn a_known_vector() {
        // Computed independently: printf '%s' '1767225600.{"playbook":…}' |
        //   openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            sign(SECRET, T, BODY),
            "t=1767225600,v1=ba7e52cb20d38aeee5d289abf7ceda598ca4512b82bc15bd982947f51f55268b"
        );
    }

    #[test]
    fn verify_accepts_what_sign_makes() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T, 300), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, T + 300, 300), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, T - 300, 300), Ok(()));
    }

    #[test]
    fn verify_refuses_a_wrong_secret_a_tampered_body_and_an_old_timestamp() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(
            verify(b"whsec_other", &header, BODY, T, 300),
            Err(SignatureError::Mismatch)
        );
        let tampered = br#"{"playbook":"renewal_90","account":"acmf"}"#;
        assert_eq!(
            verify(SECRET, &header, tampered, T, 300),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(SECRET, &header, BODY, T + 301, 300),
            Err(SignatureError::OutsideTolerance { age: 301, .. })
        ));
        // From the future too: a sender's clock far ahead is as suspect as a replay.
        assert!(matches!(
            verify(SECRET, &header, BODY, T - 301, 300),
            Err(SignatureError::OutsideTolerance { .. })
        ));
        // Moving the timestamp forward to pass the window breaks the signature instead.
        let moved = header.replace(&T.to_string(), &(T + 1000).to_string());
        assert_eq!(
            verify(SECRET, &moved, BODY, T + 1000, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn verify_accepts_any_matching_v1_for_secret_rotation() {
        let old = sign(b"whsec_old", T, BODY);
        let new = sign(SECRET, T, BODY);
        let both = format!("{old},v1={}", new.split("v1=").nth(1).unwrap());
        assert_eq!(verify(SECRET, &both, BODY, T, 300), Ok(()));
        assert_eq!(verify(b"whsec_old", &both, BODY, T, 300), Ok(()));
    }

    #[test]
    fn verify_says_what_is_malformed() {
        for (header, what) in [
            ("", "a part is not key=value"),
            ("v1=00", "no t="),
            ("t=12", "no v1="),
            ("t=soon,v1=00", "t is not a whole number of seconds"),
            ("t=12;v1=00", "t is not a whole number of seconds"),
        ] {
            assert_eq!(
                verify(SECRET, header, BODY, T, 300),
                Err(SignatureError::Malformed(what)),
                "{header:?}"
            );
        }
        assert_eq!(
            verify(SECRET, "t=12,v1=not-hex", BODY, 12, 300),
            Err(SignatureError::Malformed("no v1="))
        );
    }
}
