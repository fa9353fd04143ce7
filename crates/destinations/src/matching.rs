//! Match keys for the ad platforms (issue 18 builds its conversions on them): how each platform
//! wants a person's e-mail and phone number written before it is hashed, and the `fbc` value
//! Meta builds from a click id. The platforms match on the SHA-256 of the normalised value, so
//! a key normalised the wrong way matches no one, silently: these rules are the platforms'
//! published ones, checked against their test vectors.

use sha2::{Digest, Sha256};

/// An ad platform that matches conversions on hashed identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Meta,
    Google,
    LinkedIn,
}

/// The e-mail address as `platform` hashes it: trimmed and lowercased; for Google, the dots of
/// a `gmail.com` or `googlemail.com` local part removed (Gmail ignores them). None for what is
/// not an address (no single `@` between a local part and a domain with a dot).
pub fn normalized_email(platform: Platform, raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let valid = !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace);
    if !valid {
        return None;
    }
    let gmail = matches!(domain, "gmail.com" | "googlemail.com");
    Some(if platform == Platform::Google && gmail {
        format!("{}@{domain}", local.replace('.', ""))
    } else {
        email
    })
}

/// The phone number as `platform` hashes it, from one written with its country code (`+1 (415)
/// 555-0100`, `0044 20 7946 0958`): Meta takes the digits alone, Google E.164 with its `+`;
/// LinkedIn matches on no phone number. None for a number without a country code (it does not
/// start with `+` or `00`) or of a length no E.164 number has.
pub fn normalized_phone(platform: Platform, raw: &str) -> Option<String> {
    let raw = raw.trim();
    let international = raw.strip_prefix('+').or_else(|| raw.strip_prefix("00"))?;
    let separators = |c: char| c.is_whitespace() || "-().".contains(c);
    if !international
        .chars()
        .all(|c| c.is_ascii_digit() || separators(c))
    {
        return None;
    }
    let digits: String = international.chars().filter(char::is_ascii_digit).collect();
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    match platform {
        Platform::Meta => Some(digits),
        Platform::Google => Some(format!("+{digits}")),
        Platform::LinkedIn => None,
    }
}

/// SHA-256 of `value`, as lowercase hex: the form every platform takes hashed identifiers in.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Whether `text` has the form of a hashed identifier: 64 lowercase hex characters. What is
/// not in that form may be an address in the clear, and must not leave.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The hashed e-mail `platform` matches on, if `raw` is an address.
pub fn hashed_email(platform: Platform, raw: &str) -> Option<String> {
    normalized_email(platform, raw).map(|e| sha256_hex(&e))
}

/// The hashed phone number `platform` matches on, if it takes one and `raw` is a number with
/// its country code.
pub fn hashed_phone(platform: Platform, raw: &str) -> Option<String> {
    normalized_phone(platform, raw).map(|p| sha256_hex(&p))
}

/// Meta's `fbc` parameter for a click: `fb.1.<click time, unix ms>.<fbclid>`, sent unhashed.
pub fn fbc(fbclid: &str, clicked_at_ms: i64) -> String {
    format!("fb.1.{clicked_at_ms}.{fbclid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every hash below was computed independently, with Python's `hashlib.sha256` of the
    // normalised text given beside it; the first is Meta's own published test vector.

    #[test]
    fn meta_hashes_the_trimmed_lowercased_address() {
        assert_eq!(
            hashed_email(Platform::Meta, "John_Smith@gmail.com").as_deref(),
            Some("62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f")
        );
        // Meta keeps a Gmail address's dots; only Google removes them.
        assert_eq!(
            normalized_email(Platform::Meta, " John.Smith@Example.com ").as_deref(),
            Some("john.smith@example.com")
        );
        assert_eq!(
            hashed_email(Platform::LinkedIn, "john.smith@example.com").as_deref(),
            Some("8e621e3d0368631d263d07a351fa8d34fba0d17c15fbcdec11a5f58008d022a0")
        );
    }

    #[test]
    fn only_a_sha256_digest_passes_as_hashed() {
        let digest = hashed_email(Platform::Meta, "John_Smith@gmail.com").unwrap();
        assert!(is_sha256_hex(&digest));
        for text in [
            "john_smith@gmail.com".to_owned(),
            digest.to_uppercase(),
            digest[..63].to_owned(),
            format!("{digest}0"),
            format!("{}g", &digest[..63]),
            String::new(),
        ] {
            assert!(!is_sha256_hex(&text), "{text:?}");
        }
    }

    #[test]
    fn google_removes_the_dots_of_a_gmail_local_part_only() {
        // sha256("johnsmith@googlemail.com")
        assert_eq!(
            hashed_email(Platform::Google, " John.Smith@GoogleMail.com").as_deref(),
            Some("b1dd4aa5ffe1507d6883708fdf4f7a88d176b107097b541c6975a70e2b8ffbb8")
        );
        assert_eq!(
            normalized_email(Platform::Google, "j.smith@gmail.com").as_deref(),
            Some("jsmith@gmail.com")
        );
        assert_eq!(
            normalized_email(Platform::Google, "j.smith@example.com").as_deref(),
            Some("j.smith@example.com")
        );
    }

    #[test]
    fn what_is_not_an_address_gives_no_key() {
        for raw in [
            "",
            "john",
            "@example.com",
            "john@",
            "john@localhost",
            "a@b@c.com",
            "a b@c.com",
        ] {
            assert_eq!(normalized_email(Platform::Meta, raw), None, "{raw:?}");
        }
    }

    #[test]
    fn phones_keep_their_country_code_meta_without_the_plus_google_with_it() {
        let raw = "+1 (415) 555-0100";
        assert_eq!(
            normalized_phone(Platform::Meta, raw).as_deref(),
            Some("14155550100")
        );
        // sha256("14155550100") and sha256("+14155550100")
        assert_eq!(
            hashed_phone(Platform::Meta, raw).as_deref(),
            Some("5e7ec4c79ccac6e420876e65ad0e6b4b2ccf73ec3dccb50297bf2890a1ec73b9")
        );
        assert_eq!(
            hashed_phone(Platform::Google, "0014155550100").as_deref(),
            Some("40d3f4e02db27d66cf4cfdda506c2c945f115a7955cc8491dda98ce5beabcda0")
        );
        assert_eq!(normalized_phone(Platform::LinkedIn, raw), None);
        // No country code, letters, or no E.164 length: no key rather than a wrong one.
        for raw in [
            "415 555 0100",
            "+1 415 CALL NOW",
            "+1234",
            "+1234567890123456",
            "+0 20 7946 0958",
        ] {
            assert_eq!(normalized_phone(Platform::Meta, raw), None, "{raw:?}");
        }
    }

    #[test]
    fn fbc_is_built_from_the_click() {
        assert_eq!(
            fbc("IwAR2abc", 1_733_000_000_123),
            "fb.1.1733000000123.IwAR2abc"
        );
    }
}
