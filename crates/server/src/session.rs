//! The dashboard's sessions: a person signs in with a read or admin key once, and the browser
//! then carries an opaque session cookie instead of the key.
//!
//! Kept in the server's memory: a restart signs everyone out, which costs a sign-in and keeps
//! no secret on disk. Each session remembers the key it was opened with, and every request
//! checks that key again (through the key cache), so revoking the key ends its sessions within
//! the cache's few seconds. A session ends at sign-out or when its lifetime
//! (`[server] session_hours`) is over, whichever comes first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tenure_core::WorkspaceId;

/// The cookie's name.
pub const COOKIE: &str = "tenure_session";

/// How long a one-time sign-in link works.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone)]
pub struct Session {
    /// The key it was opened with, checked again on every request.
    pub secret: String,
    pub workspace: WorkspaceId,
    /// Put in every form that changes something and checked when it comes back: a page of
    /// another site cannot read it, so it cannot forge the form.
    pub csrf: String,
    pub expires: Instant,
}

impl Session {
    /// The form token as a page carries it: the token under a fresh random mask, different in
    /// every answer, so that a compressed page's size tells nothing of it (BREACH).
    pub fn masked_csrf(&self) -> String {
        let token = self.csrf.as_bytes();
        let mut pad = vec![0u8; token.len()];
        getrandom::fill(&mut pad).expect("the operating system's random source");
        let masked: Vec<u8> = pad.iter().zip(token).map(|(p, t)| p ^ t).collect();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}", engine.encode(pad), engine.encode(masked))
    }

    /// Whether a form's token is this session's, under any mask.
    pub fn accepts(&self, given: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let Some((pad, masked)) = given.split_once('.') else {
            return false;
        };
        let (Ok(pad), Ok(masked)) = (engine.decode(pad), engine.decode(masked)) else {
            return false;
        };
        if pad.len() != masked.len() {
            return false;
        }
        let token: Vec<u8> = pad.iter().zip(&masked).map(|(p, m)| p ^ m).collect();
        bool::from(token.ct_eq(self.csrf.as_bytes()))
    }
}

#[derive(Debug)]
struct Ticket {
    secret: String,
    expires: Instant,
}

/// The open sessions and the unused one-time sign-in links, each by the SHA-256 of its token:
/// a lookup by hash does not reveal through its timing how much of a guessed token was right.
#[derive(Debug)]
pub struct Sessions {
    open: Mutex<HashMap<[u8; 32], Session>>,
    tickets: Mutex<HashMap<[u8; 32], Ticket>>,
    lifetime: Duration,
}

impl Sessions {
    pub fn new(lifetime: Duration) -> Self {
        Self {
            open: Mutex::default(),
            tickets: Mutex::default(),
            lifetime,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Opens a session for a key already checked; returns the cookie's token.
    pub fn open(&self, secret: String, workspace: WorkspaceId) -> String {
        let token = random_token();
        let now = Instant::now();
        let session = Session {
            secret,
            workspace,
            csrf: random_token(),
            expires: now + self.lifetime,
        };
        let mut open = self.open.lock().expect("sessions");
        // Ended sessions are dropped as new ones open, so the map holds only live ones.
        open.retain(|_, s| s.expires > now);
        open.insert(digest(&token), session);
        token
    }

    /// The session of `token`, if it is open and not past its lifetime.
    pub fn find(&self, token: &str) -> Option<Session> {
        let mut open = self.open.lock().expect("sessions");
        let key = digest(token);
        match open.get(&key) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                open.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn close(&self, token: &str) {
        self.open.lock().expect("sessions").remove(&digest(token));
    }

    /// A sign-in link's token for `secret`: it works once, within [`TICKET_LIFETIME`].
    pub fn ticket(&self, secret: String) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut tickets = self.tickets.lock().expect("tickets");
        tickets.retain(|_, t| t.expires > now);
        tickets.insert(
            digest(&token),
            Ticket {
                secret,
                expires: now + TICKET_LIFETIME,
            },
        );
        token
    }

    /// The key behind a sign-in link, once: the link is spent whether or not it is in time.
    pub fn redeem(&self, token: &str) -> Option<String> {
        let ticket = self
            .tickets
            .lock()
            .expect("tickets")
            .remove(&digest(token))?;
        (ticket.expires > Instant::now()).then_some(ticket.secret)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// 256 random bits, URL-safe.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> WorkspaceId {
        WorkspaceId::parse("default").unwrap()
    }

    #[test]
    fn a_session_is_found_by_its_token_until_closed() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let token = sessions.open("rk_1".into(), workspace());
        let session = sessions.find(&token).expect("open");
        assert_eq!(session.secret, "rk_1");
        assert_ne!(session.csrf, token);
        assert!(sessions.find("not-a-token").is_none());
        sessions.close(&token);
        assert!(sessions.find(&token).is_none());
    }

    #[test]
    fn the_form_token_is_masked_anew_each_time_and_still_accepted() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let token = sessions.open("rk_1".into(), workspace());
        let session = sessions.find(&token).unwrap();
        let (a, b) = (session.masked_csrf(), session.masked_csrf());
        assert_ne!(a, b);
        assert!(session.accepts(&a) && session.accepts(&b));
        assert!(
            !session.accepts(&session.csrf),
            "the bare token is not a masked one"
        );
        let other = sessions
            .find(&sessions.open("rk_1".into(), workspace()))
            .unwrap();
        assert!(!other.accepts(&a));
        assert!(!session.accepts("x.y") && !session.accepts(""));
    }

    #[test]
    fn a_session_ends_with_its_lifetime() {
        let sessions = Sessions::new(Duration::from_millis(100));
        let token = sessions.open("rk_1".into(), workspace());
        assert!(sessions.find(&token).is_some());
        std::thread::sleep(Duration::from_millis(150));
        assert!(sessions.find(&token).is_none());
    }

    #[test]
    fn a_sign_in_link_works_once() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let ticket = sessions.ticket("rk_1".into());
        assert_eq!(sessions.redeem(&ticket).as_deref(), Some("rk_1"));
        assert_eq!(sessions.redeem(&ticket), None);
        assert_eq!(sessions.redeem("made-up"), None);
    }
}
