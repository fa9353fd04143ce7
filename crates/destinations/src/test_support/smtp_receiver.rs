use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

/// One message as received, with the session that carried it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// `user\0password` from AUTH PLAIN, or `user` and `password` from AUTH LOGIN.
    pub auth: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    /// The DATA, dot-stuffing undone, lines joined with `\n`.
    pub data: String,
}

impl Mail {
    /// A header's value (unfolded), by name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.data.split_once("\n\n")?;
        let mut value: Option<String> = None;
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = &mut value {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_owned());
                }
            }
        }
        value
    }

    pub fn body(&self) -> &str {
        self.data.split_once("\n\n").map_or("", |(_, b)| b)
    }
}

/// A minimal SMTP server: EHLO/HELO, AUTH PLAIN and LOGIN, MAIL FROM, RCPT TO, DATA, RSET,
/// NOOP, QUIT. Each DATA is answered with the next scripted reply (`"451 4.3.0 busy"`), then
/// `250` once the script is spent; a message is recorded only when it is accepted.
#[derive(Debug)]
pub struct SmtpReceiver {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    answered: Arc<Mutex<usize>>,
}

impl SmtpReceiver {
    pub fn start(script: Vec<&'static str>) -> SmtpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let answered = Arc::new(Mutex::new(0));
        let script = Arc::new(Mutex::new(script.into_iter()));
        let (m, a) = (Arc::clone(&mails), Arc::clone(&answered));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (m, a, s) = (Arc::clone(&m), Arc::clone(&a), Arc::clone(&script));
                std::thread::spawn(move || {
                    let _ = session(stream, &m, &a, &s);
                });
            }
        });
        SmtpReceiver {
            port,
            mails,
            answered,
        }
    }

    /// The messages accepted.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// How many DATA commands were answered, accepted or not.
    pub fn data_answered(&self) -> usize {
        *self.answered.lock().unwrap()
    }
}

type Script = Mutex<std::vec::IntoIter<&'static str>>;

fn session(
    stream: TcpStream,
    mails: &Mutex<Vec<Mail>>,
    answered: &Mutex<usize>,
    script: &Script,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let say = |out: &mut TcpStream, text: &str| out.write_all(format!("{text}\r\n").as_bytes());
    let read = |reader: &mut BufReader<TcpStream>| -> std::io::Result<Option<String>> {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
    };
    let decode = |b: &str| {
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
    };
    say(&mut out, "220 localhost ESMTP tenure-test")?;
    let mut mail = Mail::default();
    while let Some(line) = read(&mut reader)? {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            say(&mut out, "250-localhost")?;
            say(&mut out, "250-AUTH PLAIN LOGIN")?;
            say(&mut out, "250 8BITMIME")?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            say(&mut out, "250 ok")?;
        } else if upper.starts_with("RSET") {
            mail = Mail {
                auth: mail.auth.take(),
                ..Mail::default()
            };
            say(&mut out, "250 ok")?;
        } else if let Some(initial) = upper.strip_prefix("AUTH PLAIN").map(|_| line[10..].trim()) {
            let encoded = if initial.is_empty() {
                say(&mut out, "334 ")?;
                read(&mut reader)?.unwrap_or_default()
            } else {
                initial.to_owned()
            };
            let plain = decode(&encoded);
            let mut parts = plain.split('\0').skip(1);
            let user = parts.next().unwrap_or_default().to_owned();
            let password = parts.next().unwrap_or_default().to_owned();
            mail.auth = Some((user, password));
            say(&mut out, "235 2.7.0 authenticated")?;
        } else if upper.starts_with("AUTH LOGIN") {
            say(&mut out, "334 VXNlcm5hbWU6")?;
            let user = decode(&read(&mut reader)?.unwrap_or_default());
            say(&mut out, "334 UGFzc3dvcmQ6")?;
            let password = decode(&read(&mut reader)?.unwrap_or_default());
            mail.auth = Some((user, password));
            say(&mut out, "235 2.7.0 authenticated")?;
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = address(&line[10..]);
            say(&mut out, "250 2.1.0 ok")?;
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&line[8..]));
            say(&mut out, "250 2.1.5 ok")?;
        } else if upper == "DATA" {
            say(&mut out, "354 end data with <CR><LF>.<CR><LF>")?;
            let mut data = Vec::new();
            while let Some(line) = read(&mut reader)? {
                if line == "." {
                    break;
                }
                data.push(line.strip_prefix('.').map_or(line.clone(), str::to_owned));
            }
            mail.data = data.join("\n");
            *answered.lock().unwrap() += 1;
            let reply = script.lock().unwrap().next().unwrap_or("250 2.0.0 queued");
            if reply.starts_with('2') {
                mails.lock().unwrap().push(mail.clone());
            }
            say(&mut out, reply)?;
            mail = Mail {
                auth: mail.auth.take(),
                ..Mail::default()
            };
        } else if upper.starts_with("QUIT") {
            say(&mut out, "221 2.0.0 bye")?;
            return Ok(());
        } else {
            say(&mut out, "500 5.5.2 unknown command")?;
        }
    }
    Ok(())
}

/// `<a@b>` (with any parameters after it) → `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let end = arg.find('>').unwrap_or(arg.len());
    arg[..end].trim_start_matches('<').to_owned()
}
