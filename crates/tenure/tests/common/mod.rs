//! Runs the real `tenure` binary against a fresh data directory.

#![allow(dead_code)] // each test file uses its own part of this

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

#[derive(Debug)]
pub struct Tenure {
    pub dir: tempfile::TempDir,
}

impl Tenure {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenure"));
        cmd.arg("--data-dir").arg(self.data_dir());
        cmd.env_remove("TENURE_DATA_DIR")
            .env_remove("TENURE_CONFIG")
            .env_remove("TENURE_DATABASE_URL")
            .env_remove("RUST_LOG");
        cmd
    }

    /// Runs `tenure ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("tenure runs")
    }

    /// Runs `tenure ARGS`, insisting on success, and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tenure {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    pub fn key(&self, scope: &str) -> String {
        self.ok(&["keys", "create", "--scope", scope])
            .trim()
            .to_owned()
    }

    pub fn status_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--format", "json"])).expect("status is JSON")
    }

    pub fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }

    /// Starts `tenure serve` on a free port and waits until it listens.
    pub fn serve(&self, extra: &[&str]) -> Server {
        self.serve_with_env(extra, &[])
    }

    /// Like [`Tenure::serve`], with environment variables set for the server.
    pub fn serve_with_env(&self, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = self.command();
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .args(extra)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("tenure serve starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut startup = Vec::new();
        let url = loop {
            let line = lines
                .next()
                .expect("tenure serve exited before listening")
                .expect("stderr is text");
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_owned();
            }
            startup.push(line);
        };
        // Keep draining stderr so the server never blocks on a full pipe, and keep it.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().expect("log lock").push(line);
            }
        });
        Server {
            child,
            url,
            startup,
            log,
        }
    }
}

#[derive(Debug)]
pub struct Server {
    child: Child,
    pub url: String,
    /// What it wrote on stderr before it listened.
    pub startup: Vec<String>,
    /// What it has written on stderr since.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the server to exit on its own; `None` if it is still running.
    pub fn wait_for_exit(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("polling the server") {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The count of entries of `kind` in a status JSON.
pub fn entries_of(status: &serde_json::Value, kind: &str) -> u64 {
    status["entries_by_kind"]
        .as_array()
        .expect("entries_by_kind")
        .iter()
        .filter(|c| c["kind"] == kind)
        .map(|c| c["entries"].as_u64().expect("a count"))
        .sum()
}

pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Whether `python3` can import `module`.
pub fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure `ready` holds, running the repository's install script `script` (under
/// `tests/`) first if it does not: the libraries and programs the full-app tests drive
/// tenure with.
pub fn ensure(what: &str, script: &str, ready: impl Fn() -> bool) {
    // One install at a time: two tests of one file installing at once would race for apt's
    // and pip's locks, and one of them fail.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        let install = repo_root().join("tests").join(script);
        let status = Command::new("bash")
            .arg(&install)
            .status()
            .expect("bash runs");
        assert!(status.success(), "{} failed", install.display());
    }
    assert!(ready(), "{what} is missing after {script}");
}

/// Makes sure Debian's chromium and Playwright for Python are there for the browser tests,
/// installing them if needed (`tests/browser/install.sh`; no browser is downloaded).
pub fn ensure_browser() {
    ensure(
        "chromium or Playwright for Python",
        "browser/install.sh",
        || python_has("playwright.sync_api") && Path::new("/usr/bin/chromium").exists(),
    );
}
