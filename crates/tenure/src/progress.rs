//! Progress on stderr for the long steps (importing a file, replaying the log, simulating): a
//! bar at a terminal, and where stderr is a file or a pipe (a CI log, `2> import.log`), which
//! a bar leaves silent, a line every [`EVERY`] saying how far the step is.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a progress line is printed where stderr is not a terminal.
pub const EVERY: Duration = Duration::from_secs(5);

/// The unit a step counts in, for its lines.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Bytes,
    Entries,
    Accounts,
}

/// One step's progress: a bar at a terminal, periodic lines elsewhere.
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: Lines,
}

/// The periodic lines, apart from where they go, so they can be tested.
struct Lines {
    label: String,
    unit: Unit,
    total: Option<u64>,
    started: Instant,
    last: Instant,
    every: Duration,
    position: u64,
    print: Box<dyn FnMut(&str) + Send>,
}

impl Progress {
    /// `label` says what is being done ("importing events.ndjson"); `total` in `unit`, if known.
    /// At a terminal, `template` is the bar's indicatif template.
    pub fn new(label: String, unit: Unit, total: Option<u64>, template: &str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = match total {
                Some(total) => ProgressBar::new(total),
                None => ProgressBar::new_spinner(),
            };
            bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
            bar.set_message(label.clone());
            bar
        });
        let print: Box<dyn FnMut(&str) + Send> = if terminal {
            Box::new(|_| {})
        } else {
            Box::new(|line| eprintln!("{line}"))
        };
        Self {
            bar,
            lines: Lines::new(label, unit, total, EVERY, print),
        }
    }

    /// The step has reached `position` (in its unit).
    pub fn set_position(&mut self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position);
        }
        self.lines.set_position(position, Instant::now());
    }

    /// Clears the bar; the lines need no ending (the command prints its own summary).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Lines {
    fn new(
        label: String,
        unit: Unit,
        total: Option<u64>,
        every: Duration,
        print: Box<dyn FnMut(&str) + Send>,
    ) -> Self {
        let now = Instant::now();
        Self {
            label,
            unit,
            total,
            started: now,
            last: now,
            every,
            position: 0,
            print,
        }
    }

    fn set_position(&mut self, position: u64, now: Instant) {
        self.position = position;
        if now.duration_since(self.last) < self.every {
            return;
        }
        self.last = now;
        let line = self.line(now);
        (self.print)(&line);
    }

    /// "importing events.ndjson: 12.0 of 48.0 MB (25%), 3.1 MB/s".
    fn line(&self, now: Instant) -> String {
        let seconds = now.duration_since(self.started).as_secs_f64();
        let amount = |n: u64| match self.unit {
            Unit::Bytes => format!("{:.1}", n as f64 / 1e6),
            _ => n.to_string(),
        };
        let unit = match self.unit {
            Unit::Bytes => "MB",
            Unit::Entries => "entries",
            Unit::Accounts => "accounts",
        };
        let mut out = format!("{}: {}", self.label, amount(self.position));
        if let Some(total) = self.total {
            out += &format!(" of {} {unit}", amount(total));
            if total > 0 {
                out += &format!(" ({:.0}%)", self.position as f64 * 100.0 / total as f64);
            }
        } else {
            out += &format!(" {unit}");
        }
        if seconds > 0.0 {
            let rate = self.position as f64 / seconds;
            out += &match self.unit {
                Unit::Bytes => format!(", {:.1} MB/s", rate / 1e6),
                _ => format!(", {rate:.0} {unit}/s"),
            };
        }
        out
    }
}

/// A reader that reports the bytes read through it.
pub struct Reading<R> {
    inner: R,
    read: u64,
    progress: Progress,
}

impl<R> Reading<R> {
    pub fn new(inner: R, progress: Progress) -> Self {
        Self {
            inner,
            read: 0,
            progress,
        }
    }

    pub fn finish(self) {
        self.progress.finish();
    }
}

impl<R: std::io::Read> std::io::Read for Reading<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.progress.set_position(self.read);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn a_line_every_interval_saying_how_far_and_how_fast() {
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&printed);
        let mut lines = Lines::new(
            "importing events.ndjson".into(),
            Unit::Bytes,
            Some(4_000_000),
            Duration::from_secs(5),
            Box::new(move |l| sink.lock().unwrap().push(l.to_owned())),
        );
        let t0 = lines.started;
        // 1 MB after 2 s: within the interval, nothing; 2 MB after 5 s: a line; 3 MB after
        // 8 s: 3 s since the last line, nothing; 4 MB after 10 s: a line.
        lines.set_position(1_000_000, t0 + Duration::from_secs(2));
        lines.set_position(2_000_000, t0 + Duration::from_secs(5));
        lines.set_position(3_000_000, t0 + Duration::from_secs(8));
        lines.set_position(4_000_000, t0 + Duration::from_secs(10));
        assert_eq!(
            *printed.lock().unwrap(),
            [
                // 2 MB of 4 MB is 50%; 2 MB in 5 s is 0.4 MB/s.
                "importing events.ndjson: 2.0 of 4.0 MB (50%), 0.4 MB/s",
                // 4 MB in 10 s is 0.4 MB/s.
                "importing events.ndjson: 4.0 of 4.0 MB (100%), 0.4 MB/s",
            ]
        );
    }

    #[test]
    fn counts_without_a_total() {
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&printed);
        let mut lines = Lines::new(
            "replaying the log".into(),
            Unit::Entries,
            None,
            Duration::from_secs(5),
            Box::new(move |l| sink.lock().unwrap().push(l.to_owned())),
        );
        let t0 = lines.started;
        // 30,000 entries in 6 s: 5,000 a second.
        lines.set_position(30_000, t0 + Duration::from_secs(6));
        assert_eq!(
            *printed.lock().unwrap(),
            ["replaying the log: 30000 entries, 5000 entries/s"]
        );
    }
}
