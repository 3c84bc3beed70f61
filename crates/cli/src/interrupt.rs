//! Ctrl+C and the clock for the REPL's statements: the CLI's side of `CHECK_FOR_INTERRUPTS()`.
//!
//! A Ctrl+C (SIGINT, caught with `ctrlc` so it no longer kills pgplay) sets a flag that the
//! running statement's next interrupt check consumes: it ends with `57014 canceling statement
//! due to user request`, and psql's "Cancel request sent" goes to stderr as psql writes it. The
//! REPL hears of every Ctrl+C too, to clear the line at the prompt (or, reading a script, to
//! stop as psql does).
//!
//! At a terminal statements run on the wall clock, which `statement_timeout` counts; with piped
//! input they run on the simulator's clock (a microsecond a unit of work), so a script prints the
//! same on every run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use pgplay_engine::interrupt::{InterruptSource, SimulatedClock};
use pgplay_sim::InterruptSourceMaker;

/// The Ctrl+C flags the signal handler sets.
#[derive(Clone, Default)]
pub struct CtrlC {
    /// A cancel for the running statement, consumed by its interrupt check.
    pub cancel: Arc<AtomicBool>,
    /// A statement runs: a Ctrl+C now is a cancel request.
    pub running: Arc<AtomicBool>,
    /// Ctrl+C was pressed at least once (a script stops).
    pub pressed: Arc<AtomicBool>,
}

impl CtrlC {
    /// Catches SIGINT from now on; `notify` is called after the flags are set. False if the
    /// handler could not be installed (Ctrl+C then ends pgplay, as before).
    pub fn install(&self, notify: impl Fn() + Send + 'static) -> bool {
        let flags = self.clone();
        ctrlc::set_handler(move || {
            flags.pressed.store(true, Ordering::SeqCst);
            // Said before the cancel is set, so it comes before the statement's error, as in
            // psql (which prints it before the server answers).
            if flags.running.load(Ordering::SeqCst) {
                eprintln!("Cancel request sent");
            }
            flags.cancel.store(true, Ordering::SeqCst);
            notify();
        })
        .is_ok()
    }

    /// Takes a Ctrl+C that no statement consumed: true if there was one.
    pub fn take_unconsumed(&self) -> bool {
        self.cancel.swap(false, Ordering::SeqCst)
    }

    /// Each node's interrupt source: the wall clock at a terminal, the simulated one otherwise,
    /// with this Ctrl+C either way.
    pub fn source_maker(&self, wall_clock: bool) -> InterruptSourceMaker {
        let cancel = self.cancel.clone();
        Arc::new(move || -> Box<dyn InterruptSource> {
            let cancel = cancel.clone();
            if wall_clock {
                Box::new(WallClock {
                    started: Instant::now(),
                    cancel,
                })
            } else {
                Box::new(SimulatedWithCancel { cancel })
            }
        })
    }
}

/// `statement_timeout` on the wall clock.
struct WallClock {
    started: Instant,
    cancel: Arc<AtomicBool>,
}

impl InterruptSource for WallClock {
    fn statement_started(&mut self) {
        self.started = Instant::now();
    }
    fn elapsed_micros(&mut self, _work: u64) -> i64 {
        i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX)
    }
    fn take_cancel(&mut self) -> bool {
        self.cancel.swap(false, Ordering::SeqCst)
    }
}

/// The simulator's clock, and Ctrl+C.
struct SimulatedWithCancel {
    cancel: Arc<AtomicBool>,
}

impl InterruptSource for SimulatedWithCancel {
    fn elapsed_micros(&mut self, work: u64) -> i64 {
        SimulatedClock.elapsed_micros(work)
    }
    fn simulated_micros(&self, work: u64) -> i64 {
        SimulatedClock.simulated_micros(work)
    }
    fn take_cancel(&mut self) -> bool {
        self.cancel.swap(false, Ordering::SeqCst)
    }
}
