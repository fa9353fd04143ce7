//! `<data-dir>/server.json`: how the CLI on this machine finds the server that holds the data
//! directory, so `tenure report` and `tenure status` can ask it (warm, in milliseconds) instead
//! of decoding the snapshot themselves.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tenure_core::WorkspaceId;

const FILE: &str = "server.json";

/// A server on this machine that is up answers a connection at once; anything slower is
/// treated as gone, and the command answers from the snapshot.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(250);

/// What `tenure serve` writes once it listens.
#[derive(Debug, Serialize, Deserialize)]
pub struct ServerFile {
    /// The address the server listens on.
    pub address: SocketAddr,
    pub pid: u32,
    /// The workspace the token reads.
    pub workspace: WorkspaceId,
    /// A read key for `workspace`, valid while this server runs.
    pub token: String,
}

/// Removes `server.json` when dropped, at the server's orderly shutdown.
#[derive(Debug)]
pub struct Written(PathBuf);

impl Drop for Written {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A new random token: 32 bytes from the operating system, in hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("tnr_local_{hex}")
}

impl ServerFile {
    /// Writes the file atomically (a temporary file renamed over it), readable by this user
    /// only: the token reads the workspace's data.
    pub fn write(&self, data_dir: &Path) -> anyhow::Result<Written> {
        let path = data_dir.join(FILE);
        let mut file = tempfile::NamedTempFile::new_in(data_dir)
            .with_context(|| format!("writing {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        file.persist(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Written(path))
    }
}

/// The body of a 200 answer to `GET path_and_query` from the server that holds `data_dir` for
/// `workspace`, with the address that gave it; `None` (and why, on the debug log) when there is
/// no such server or it does not answer, so the caller answers from the snapshot instead.
pub fn ask(
    data_dir: &Path,
    workspace: &WorkspaceId,
    path_and_query: &str,
    read_timeout: Duration,
) -> Option<(String, SocketAddr)> {
    let path = data_dir.join(FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    let result = serde_json::from_str::<ServerFile>(&text)
        .map_err(|e| anyhow::anyhow!("{} is not readable: {e}", path.display()))
        .and_then(|file| {
            if &file.workspace != workspace {
                anyhow::bail!(
                    "the running server's token reads workspace {}",
                    file.workspace
                );
            }
            let address = loopback(file.address)?;
            let body = get(address, &file.token, path_and_query, read_timeout)?;
            Ok((body, address))
        });
    match result {
        Ok(answer) => Some(answer),
        Err(e) => {
            tracing::info!("not asking the running server ({e:#}); answering from the snapshot");
            None
        }
    }
}

/// The JSON body of the running server's answer to `GET path_and_query` for the command's
/// workspace, saying so on the log (`--verbose`); `None` when no server answers.
pub fn ask_ctx(ctx: &crate::Context, path_and_query: &str) -> Option<String> {
    // The server's own budget for a report, and a little more for the way there and back.
    let budget =
        Duration::from_secs_f64(ctx.config.server.report_timeout_seconds) + Duration::from_secs(5);
    let (body, address) = ask(
        &ctx.data_dir_or_default(),
        &ctx.workspace,
        path_and_query,
        budget,
    )?;
    tracing::info!("answered by the running server at {address}");
    Some(body)
}

/// The loopback address of a server listening on `address`: asked on this machine only.
fn loopback(address: SocketAddr) -> anyhow::Result<SocketAddr> {
    let ip = address.ip();
    if ip.is_unspecified() {
        let ip = match ip {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        };
        return Ok(SocketAddr::new(ip, address.port()));
    }
    anyhow::ensure!(ip.is_loopback(), "{address} is not a loopback address");
    Ok(address)
}

/// One HTTP/1.0 GET: the server closes the connection after a body it sends whole, so the
/// answer is read to the end, with no chunked encoding to undo.
fn get(
    address: SocketAddr,
    token: &str,
    path_and_query: &str,
    read_timeout: Duration,
) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)
        .with_context(|| format!("no server answers at {address}"))?;
    stream.set_read_timeout(Some(read_timeout))?;
    stream.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    write!(
        stream,
        "GET {path_and_query} HTTP/1.0\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8(answer).context("the answer is not UTF-8")?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .context("the answer has no body")?;
    let status = head.split(' ').nth(1).unwrap_or_default();
    anyhow::ensure!(status == "200", "the server at {address} answered {status}");
    Ok(body.to_owned())
}

/// `name=value&…` for the parameters given, percent-encoded.
pub fn query(params: &[(&str, Option<&str>)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    params
        .iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// `compact` (JSON as the server sends it) laid out as `serde_json::to_string_pretty` lays out
/// the same value, so the CLI prints the same bytes whichever answered.
pub fn pretty(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // An empty object or array stays `{}` or `[]`.
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.push(chars.next().unwrap_or_default());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_matches_serde_json() {
        let value = serde_json::json!({
            "b": [1, 2.5, {"x": "a \"quoted\" {text}, [1]: \\"}],
            "a": {},
            "c": [],
            "d": null,
            "e": [[], {"f": true}],
        });
        let compact = serde_json::to_string(&value).unwrap();
        assert_eq!(
            pretty(&compact),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }

    #[test]
    fn query_encodes_values() {
        assert_eq!(
            query(&[
                ("as_of", Some("2025-01-01T00:00:00+02:00")),
                ("by", None),
                ("compare", Some("true"))
            ]),
            "as_of=2025-01-01T00%3A00%3A00%2B02%3A00&compare=true"
        );
    }
}
