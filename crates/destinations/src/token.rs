//! An ad platform's access token: from the environment variable `secret_env` names, or the
//! first line of the file `secret_file` names. Never from the config file, and never in a log
//! line, a reason or a preview.
//!
//! A token from a file is read again whenever the file changes: OAuth access tokens are short
//! lived (Google's last an hour), and a tool that refreshes the file (a sidecar, `gcloud auth
//! print-access-token` on a timer) is then followed from the next request on, without a
//! restart. A file that can no longer be read keeps the last token, with a warning.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::DestinationError;

pub(crate) struct Token {
    file: Option<PathBuf>,
    /// The file's modification time when it was last read, and the token.
    kept: Mutex<(Option<SystemTime>, String)>,
}

// By hand: the token must never reach a log line.
impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// The token to send now.
    pub(crate) fn current(&self) -> String {
        let mut kept = self.kept.lock().expect("token");
        let Some(path) = &self.file else {
            return kept.1.clone();
        };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified.is_some() && modified != kept.0 {
            match read(path) {
                Ok(token) => *kept = (modified, token),
                Err(why) => tracing::warn!(
                    file = %path.display(),
                    error = %why,
                    "cannot read the access token again; the last one read is used"
                ),
            }
        }
        kept.1.clone()
    }
}

fn read(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.lines().next().unwrap_or_default().trim().to_owned();
    if token.is_empty() {
        return Err("it is empty: its first line must be the access token".into());
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        // Not the value: it is the secret.
        return Err("the token holds spaces or characters outside printable ASCII".into());
    }
    Ok(token)
}

/// The token of a destination's config, read now; an error names the variable or the file.
pub(crate) fn token(
    config: &tenure_playbooks::Destination,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Token, DestinationError> {
    let invalid = |field, message: String| DestinationError::Invalid {
        destination: config.name.clone(),
        field,
        message,
    };
    if let Some(path) = &config.secret_file {
        let path = PathBuf::from(path);
        let token = read(&path).map_err(|why| {
            invalid(
                "secret_file",
                format!(
                    "cannot read the access token from {}: {why}",
                    path.display()
                ),
            )
        })?;
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        return Ok(Token {
            file: Some(path),
            kept: Mutex::new((modified, token)),
        });
    }
    let token = crate::secret(config, env, "the access token")?.ok_or_else(|| {
        invalid(
            "secret_env",
            "no access token: name the environment variable holding it (secret_env) or a file holding it (secret_file)".into(),
        )
    })?;
    let token = token.trim().to_owned();
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "secret_env",
            "the access token holds spaces or characters outside printable ASCII: copy it again from the platform".into(),
        ));
    }
    Ok(Token {
        file: None,
        kept: Mutex::new((None, token)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_playbooks::{Destination, DestinationKind};

    #[test]
    fn a_token_file_is_followed_as_it_is_refreshed() {
        let dir = std::env::temp_dir().join(format!("tenure-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "ya29.first\n").unwrap();
        let mut config = Destination::named("google", DestinationKind::Google);
        config.secret_file = Some(path.display().to_string());
        let token = token(&config, &|_| None).unwrap();
        assert_eq!(token.current(), "ya29.first");
        assert!(!format!("{token:?}").contains("ya29"));
        // Refreshed by another tool: a later modification time is read at the next request.
        std::fs::write(&path, "ya29.second\nrest ignored\n").unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(token.current(), "ya29.second");
        // Emptied mid-refresh: the last token is kept.
        std::fs::write(&path, "").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later + std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(token.current(), "ya29.second");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_or_bad_token_is_refused_naming_where_it_was_looked_for() {
        let mut config = Destination::named("meta", DestinationKind::Meta);
        config.secret_env = Some("META_TOKEN".into());
        let err = token(&config, &|_| None).unwrap_err().to_string();
        assert!(err.contains("META_TOKEN"), "{err}");
        let err = token(&config, &|_| Some("two words".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("printable ASCII") && !err.contains("two words"),
            "{err}"
        );
        config.secret_env = None;
        config.secret_file = Some("/nonexistent/tenure/token".into());
        let err = token(&config, &|_| None).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/tenure/token"), "{err}");
    }
}
