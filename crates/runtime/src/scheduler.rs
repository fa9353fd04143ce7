//! Periodic jobs: each named job runs on a thread of its own whenever the [`Clock`] says it is
//! due, so one slow job (a first history pass over a large store) never delays another (the
//! once-a-second catch-up), and one job never runs twice at once.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tenure_core::Timestamp;

use crate::Clock;

/// Why a run of a job failed; logged, and the job runs again at its next period.
pub type JobError = Box<dyn std::error::Error + Send + Sync>;

/// Runs named jobs every period until [`Scheduler::stop`] (or drop).
///
/// A job is due a period after its last run started; a run that overruns its period is followed
/// at once by one more run, not by one per period missed. A clock set back (by NTP, say)
/// delays a job by at most one period. Failures and panics are logged and
/// the job runs again when next due. Time is the clock's: with a [`crate::ManualClock`], move
/// it and call [`Scheduler::wake`] for the jobs to look again.
#[derive(Debug)]
pub struct Scheduler {
    clock: Arc<dyn Clock>,
    signal: Arc<Signal>,
    threads: Vec<(Arc<str>, JoinHandle<()>)>,
}

/// Tells the job threads to look at the clock again, or to stop.
#[derive(Debug, Default)]
struct Signal {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl Scheduler {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            signal: Arc::default(),
            threads: Vec::new(),
        }
    }

    /// Runs `work` every `period`, the first time `first_after` from now.
    pub fn every(
        &mut self,
        name: impl Into<String>,
        period: Duration,
        first_after: Duration,
        work: impl FnMut() -> Result<(), JobError> + Send + 'static,
    ) {
        let name: Arc<str> = name.into().into();
        let clock = Arc::clone(&self.clock);
        let signal = Arc::clone(&self.signal);
        let first = clock.now().plus_millis(millis(first_after));
        // No wait is longer than this unless the clock went back.
        let longest = millis(period.max(first_after));
        let thread = std::thread::Builder::new()
            .name(format!("tenure-{name}"))
            .spawn({
                let name = Arc::clone(&name);
                move || run(&name, period, first, longest, work, clock.as_ref(), &signal)
            })
            .expect("a job's thread starts");
        self.threads.push((name, thread));
    }

    /// Makes every job read the clock again, for a clock moved by hand.
    pub fn wake(&self) {
        let _stopped = self.signal.stopped.lock().expect("scheduler signal");
        self.signal.changed.notify_all();
    }

    /// Stops every job: none starts again, and this returns once the runs in progress ended.
    pub fn stop(&mut self) {
        *self.signal.stopped.lock().expect("scheduler signal") = true;
        self.signal.changed.notify_all();
        for (name, thread) in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!(job = %name, "a periodic job's thread ended in a panic");
            }
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop();
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One job's thread: wait until due (or stopped), run, repeat. `longest` is the longest wait
/// a clock that only goes forward can ask for.
fn run(
    name: &str,
    period: Duration,
    first: Timestamp,
    longest: i64,
    mut work: impl FnMut() -> Result<(), JobError>,
    clock: &dyn Clock,
    signal: &Signal,
) {
    let mut due = first;
    loop {
        {
            let mut stopped = signal.stopped.lock().expect("scheduler signal");
            loop {
                if *stopped {
                    return;
                }
                let (next, wait) = until_due(due, clock.now(), longest);
                due = next;
                if wait <= 0 {
                    break;
                }
                // Woken early by `wake` or `stop`; either way the loop looks again.
                let wait = Duration::from_millis(u64::try_from(wait).unwrap_or(u64::MAX));
                stopped = signal
                    .changed
                    .wait_timeout(stopped, wait)
                    .expect("scheduler signal")
                    .0;
            }
        }
        let started = clock.now();
        match catch_unwind(AssertUnwindSafe(&mut work)) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(job = name, %error, "a periodic job failed; it runs again when next due")
            }
            Err(_) => {
                tracing::error!(
                    job = name,
                    "a periodic job panicked; it runs again when next due"
                )
            }
        }
        due = started.plus_millis(millis(period));
    }
}

/// When the job is due and how many milliseconds until then (none or negative: now), as of
/// `now`. A wait longer than `longest` means the clock went back: the job is then due
/// `longest` from now rather than once the clock is back where it was.
fn until_due(due: Timestamp, now: Timestamp, longest: i64) -> (Timestamp, i64) {
    let wait = due.millis().saturating_sub(now.millis());
    if wait > longest {
        (now.plus_millis(longest), longest)
    } else {
        (due, wait)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    use super::*;
    use crate::ManualClock;

    const MINUTE: Duration = Duration::from_secs(60);
    /// Only a guard against a hang: every wait below ends as soon as the job has run.
    const GUARD: Duration = Duration::from_secs(60);

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_millis(1_750_000_000_000 + minutes * 60_000)
    }

    fn minutes(t: Timestamp) -> i64 {
        (t.millis() - at(0).millis()) / 60_000
    }

    /// A scheduler on a manual clock at minute 0, and a job that reports the minute of each run.
    fn reporting(
        period: Duration,
        first_after: Duration,
    ) -> (Arc<ManualClock>, Scheduler, mpsc::Receiver<i64>) {
        let clock = Arc::new(ManualClock::new(at(0)));
        let mut scheduler = Scheduler::new(clock.clone());
        let (tx, rx) = mpsc::channel();
        let job_clock = clock.clone();
        scheduler.every("report", period, first_after, move || {
            tx.send(minutes(job_clock.now()))?;
            Ok(())
        });
        (clock, scheduler, rx)
    }

    fn advance(clock: &ManualClock, scheduler: &Scheduler, by: Duration) {
        clock.advance(by);
        scheduler.wake();
    }

    #[test]
    fn a_job_runs_when_the_clock_says_it_is_due() {
        let (clock, scheduler, rx) = reporting(10 * MINUTE, 10 * MINUTE);
        advance(&clock, &scheduler, 4 * MINUTE);
        advance(&clock, &scheduler, 6 * MINUTE);
        // Had it run at minute 0 or 4, that run would be reported first.
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 10);
        advance(&clock, &scheduler, 5 * MINUTE);
        advance(&clock, &scheduler, 5 * MINUTE);
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 20, "a whole period later");
    }

    #[test]
    fn a_clock_set_back_delays_a_job_by_at_most_one_period() {
        let ten = 10 * 60_000;
        assert_eq!(until_due(at(10), at(4), ten), (at(10), 6 * 60_000));
        assert_eq!(until_due(at(10), at(12), ten), (at(10), -2 * 60_000));
        // Set back an hour: due ten minutes from the new now, not seventy.
        assert_eq!(until_due(at(10), at(-60), ten), (at(-50), ten));
    }

    #[test]
    fn a_job_due_at_once_runs_at_once() {
        let (clock, scheduler, rx) = reporting(MINUTE, Duration::ZERO);
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 0);
        advance(&clock, &scheduler, MINUTE);
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 1);
    }

    /// A run longer than the period is followed by one more run at once, never by a second run
    /// beside it nor by one per period missed.
    #[test]
    fn an_overrun_is_followed_by_one_run_not_a_burst() {
        let clock = Arc::new(ManualClock::new(at(0)));
        let mut scheduler = Scheduler::new(clock.clone());
        let (started_tx, started) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (job_clock, job_running, job_most) = (clock.clone(), running.clone(), most.clone());
        scheduler.every("slow", 10 * MINUTE, Duration::ZERO, move || {
            let now = job_running.fetch_add(1, Ordering::SeqCst) + 1;
            job_most.fetch_max(now, Ordering::SeqCst);
            started_tx.send(minutes(job_clock.now()))?;
            released.recv()?;
            job_running.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        });
        assert_eq!(started.recv_timeout(GUARD).unwrap(), 0);
        // Five periods pass while the first run is still going.
        for _ in 0..5 {
            advance(&clock, &scheduler, 10 * MINUTE);
        }
        release.send(()).unwrap();
        assert_eq!(started.recv_timeout(GUARD).unwrap(), 50, "one run at once");
        release.send(()).unwrap();
        advance(&clock, &scheduler, 10 * MINUTE);
        assert_eq!(
            started.recv_timeout(GUARD).unwrap(),
            60,
            "then a period after it, not the missed ones"
        );
        release.send(()).unwrap();
        drop(scheduler);
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two runs at once");
    }

    #[test]
    fn a_failing_or_panicking_job_runs_again_when_next_due() {
        let clock = Arc::new(ManualClock::new(at(0)));
        let mut scheduler = Scheduler::new(clock.clone());
        let (tx, rx) = mpsc::channel();
        let mut runs = 0;
        scheduler.every("flaky", MINUTE, Duration::ZERO, move || {
            runs += 1;
            tx.send(runs)?;
            match runs {
                1 => Err("the store is unavailable".into()),
                2 => panic!("a bug in a job"),
                _ => Ok(()),
            }
        });
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 1);
        advance(&clock, &scheduler, MINUTE);
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 2);
        advance(&clock, &scheduler, MINUTE);
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 3);
    }

    #[test]
    fn after_stop_no_job_runs_again() {
        let (clock, mut scheduler, rx) = reporting(MINUTE, Duration::ZERO);
        assert_eq!(rx.recv_timeout(GUARD).unwrap(), 0);
        scheduler.stop();
        advance(&clock, &scheduler, 10 * MINUTE);
        // The job (and the sender it holds) is gone with its thread: nothing more can come.
        assert_eq!(
            rx.recv_timeout(GUARD),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
    }
}
