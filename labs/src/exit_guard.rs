//! Catching a process exit in the middle of a test.
//!
//! `std::process::exit(0)` called inside a test ends the test binary with status 0, so plain
//! `cargo test` reports success for a test that never finished. While a lab test runs, an
//! `atexit` handler (installed once, through `libc`) turns such an exit into a failure: it says
//! which test was running and, when the backtrace shows it, who called `exit`; it tells the
//! grader through the verdict channel; and it ends the process with status 101, as libtest does
//! for a failed test. An exit after every lab test has finished (libtest's own) passes through.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Lab tests running now in this process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Their names, for the message.
static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The exit status of a process that exited in the middle of a test (libtest's for a failure).
const EXIT_STATUS: i32 = 101;

/// A lab test in progress; dropping it (also while unwinding) ends it.
pub(crate) struct Running {
    name: String,
}

/// Marks `test` as running until the returned guard drops, and returns how many other lab tests
/// were already running in this process.
pub(crate) fn enter(test: &str) -> (Running, usize) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // SAFETY: `on_exit` is an `extern "C" fn()` that never unwinds (it catches panics), as
        // atexit requires.
        let status = unsafe { libc::atexit(on_exit) };
        if status != 0 {
            eprintln!("labs: could not install the exit check (atexit returned {status})");
        }
    });
    NAMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(test.to_string());
    let before = RUNNING.fetch_add(1, Ordering::SeqCst);
    (Running { name: test.to_string() }, before)
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        let mut names = NAMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = names.iter().position(|n| *n == self.name) {
            names.remove(i);
        }
    }
}

/// The atexit handler.
extern "C" fn on_exit() {
    if RUNNING.load(Ordering::SeqCst) == 0 {
        return;
    }
    let _ = std::panic::catch_unwind(|| {
        let tests = match NAMES.try_lock() {
            Ok(names) => names.join(", "),
            Err(_) => "(a lab test)".to_string(),
        };
        let caller = exit_caller();
        let message = format!(
            "\n{tests}: the process is exiting in the middle of the test{}. A lab test must \
             return or panic, never end the process: this run FAILED (exit status {EXIT_STATUS}).\n",
            caller.as_deref().map(|c| format!(" (std::process::exit called from {c})")).unwrap_or_default()
        );
        write_stderr(&message);
        crate::harness::record_exit(&tests, caller.as_deref());
    });
    // SAFETY: _exit ends the process at once; it is async-signal-safe and runs no handlers.
    unsafe { libc::_exit(EXIT_STATUS) };
}

/// Writes to file descriptor 2 directly: libtest's output capture and std's stderr lock (which
/// the exiting thread's caller might hold) are both bypassed.
fn write_stderr(text: &str) {
    let mut bytes = text.as_bytes();
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live byte slice.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// The function that called `std::process::exit`, from a backtrace taken in the handler
/// (`None` when the symbols do not say).
fn exit_caller() -> Option<String> {
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    caller_of_exit(&trace)
}

/// In a backtrace's text, the frame after `std::process::exit`, without its hash.
pub(crate) fn caller_of_exit(trace: &str) -> Option<String> {
    let frames: Vec<&str> = trace
        .lines()
        .filter_map(|line| {
            let (number, name) = line.trim_start().split_once(": ")?;
            number.parse::<usize>().ok()?;
            Some(name.trim())
        })
        .collect();
    let at = frames.iter().position(|f| f.starts_with("std::process::exit"))?;
    let caller = frames.get(at + 1)?;
    let caller = match caller.rsplit_once("::h") {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => name,
        _ => caller,
    };
    Some(caller.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_caller_of_exit() {
        let trace = "   0: std::backtrace::Backtrace::force_capture
   1: labs::exit_guard::on_exit
   2: __run_exit_handlers
   3: exit
   4: std::process::exit::h0123456789abcdef
             at /rustc/library/std/src/process.rs:2400:5
   5: raft::raft::Raft::request_vote::hfedcba9876543210
   6: core::ops::function::FnOnce::call_once
";
        assert_eq!(caller_of_exit(trace).as_deref(), Some("raft::raft::Raft::request_vote"));
        assert_eq!(caller_of_exit("   0: main\n"), None);
    }
}
