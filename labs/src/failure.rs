//! Why a run failed, and the panic payloads the runtime uses. A leaf: it imports nothing else
//! of the runtime.

use std::fmt;

/// What kind of failure ended a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// A thread panicked (an assertion in the test, or a bug in a server).
    Panic,
    /// No thread could run and no timer was pending.
    Deadlock,
    /// A thread ran too long without reaching a runtime call.
    Spin,
    /// A simulated thread sat blocked in the operating system (a `std` sleep, lock or I/O).
    Blocked,
    /// The run exceeded its time limit (120 s by default).
    TimeLimit,
}

/// Why a run failed, in words.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The kind of failure.
    pub kind: FailureKind,
    /// A message for a person: what happened, where, and what to look at.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` with `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure { kind, message: message.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The payload a killed thread unwinds with; never printed.
pub(crate) struct KillSignal;

/// True if a panic payload is the runtime's kill signal. Code that catches panics (a thread
/// pool, say) must re-raise such payloads with `std::panic::resume_unwind`.
pub fn is_kill_signal(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.is::<KillSignal>()
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}
