//! Running one child process with a deadline and capturing all of its output.
//!
//! The grader runs code it does not trust to terminate: a student's Raft may deadlock, spin,
//! or print without end. So every run here
//!
//! * sends stdout and stderr into one pipe, read by a thread of its own, so that a child that
//!   fills the pipe never blocks on us and its two streams stay interleaved as it wrote them;
//! * is killed (`SIGKILL`, which ends all of its threads) when its deadline passes;
//! * keeps at most [`OUTPUT_CAP`] bytes of output: the head and the tail, which hold the
//!   test's header and its failure;
//! * never waits without a bound: if a grandchild keeps the pipe open after the child died,
//!   the reader is abandoned after a short grace period.
//!
//! * runs under the limits of [`crate::limits`] (memory, threads, network) when asked, and
//!   samples the child's peak RSS and thread count from `/proc` while it runs.
//!
//! Processes are not put in their own process group, so that Ctrl-C at the terminal reaches
//! the test processes too. A process that a test spawns itself is not tracked.

use std::collections::VecDeque;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::limits::{Limits, ProcStatus, proc_status};

/// The most output kept from one run, in bytes (half from the start, half from the end).
pub const OUTPUT_CAP: usize = 32 << 20;

/// How long to wait for the output reader once the child is gone.
const READER_GRACE: Duration = Duration::from_secs(2);

/// How long to wait for a killed child to be reaped.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it (on Unix), e.g. a segfault or an abort.
    Signal(Option<i32>),
    /// It ran past its deadline and was killed.
    TimedOut,
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct Captured {
    /// How it ended.
    pub exit: Exit,
    /// stdout and stderr, interleaved; capped at [`OUTPUT_CAP`] bytes.
    pub output: Vec<u8>,
    /// Wall time from spawn to exit (or to the kill).
    pub duration: Duration,
    /// The largest peak RSS seen while it ran (from `/proc`, sampled), bytes.
    pub peak_rss_bytes: Option<u64>,
    /// The largest peak address-space size seen while it ran, bytes.
    pub peak_virtual_bytes: Option<u64>,
    /// The most threads seen alive at once.
    pub peak_threads: Option<u64>,
    /// Set when the grader killed it for having more threads than this limit.
    pub killed_for_threads: Option<u64>,
}

/// Runs `command` to completion or until `timeout` passes, whichever comes first.
///
/// stdin is closed; stdout and stderr are captured. An error means the process could not be
/// started (or waited for), not that it failed.
pub fn run(command: Command, timeout: Duration) -> std::io::Result<Captured> {
    run_limited(command, timeout, Limits { memory_bytes: None, max_threads: None, isolate_network: false })
}

/// [`run`] under `limits` ([`crate::limits`]): the memory limit and the network namespace are
/// set in the child before it starts; its threads and memory are sampled from `/proc` while it
/// runs, and it is killed if its threads exceed the limit.
pub fn run_limited(mut command: Command, timeout: Duration, limits: Limits) -> std::io::Result<Captured> {
    crate::limits::apply(&mut command, limits);
    let (mut reader, writer) = std::io::pipe()?;
    let writer_err = writer.try_clone()?;
    command.stdin(Stdio::null()).stdout(writer).stderr(writer_err);
    let start = Instant::now();
    let spawned = command.spawn();
    // The command holds our copies of the pipe's write end: drop them, or the reader would
    // never see the end of the output.
    drop(command);
    let mut child = spawned?;

    let buffer = Arc::new(Mutex::new(CappedBuffer::new(OUTPUT_CAP)));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    {
        let buffer = Arc::clone(&buffer);
        thread::Builder::new().name("grade-output".into()).spawn(move || {
            let mut chunk = vec![0u8; 64 << 10];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => lock(&buffer).push(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = done_tx.send(());
        })?;
    }

    let deadline = start + timeout;
    let mut pause = Duration::from_millis(1);
    let mut seen = ProcStatus::default();
    let mut killed_for_threads = None;
    let pid = child.id();
    let exit = loop {
        if let Some(status) = child.try_wait()? {
            break exit_of(status);
        }
        if let Some(now) = proc_status(pid) {
            seen.peak_rss_bytes = seen.peak_rss_bytes.max(now.peak_rss_bytes);
            seen.peak_virtual_bytes = seen.peak_virtual_bytes.max(now.peak_virtual_bytes);
            seen.threads = seen.threads.max(now.threads);
            if let (Some(threads), Some(limit)) = (now.threads, limits.max_threads)
                && threads > limit
            {
                killed_for_threads = Some(limit);
                kill_and_reap(&mut child);
                break Exit::Signal(Some(9));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill_and_reap(&mut child);
            break Exit::TimedOut;
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let duration = start.elapsed();
    let _ = done_rx.recv_timeout(READER_GRACE);
    let output = lock(&buffer).contents();
    Ok(Captured {
        exit,
        output,
        duration,
        peak_rss_bytes: seen.peak_rss_bytes,
        peak_virtual_bytes: seen.peak_virtual_bytes,
        peak_threads: seen.threads,
        killed_for_threads,
    })
}

/// Kills a child (`SIGKILL`, which ends all of its threads) and waits a little for it.
fn kill_and_reap(child: &mut std::process::Child) {
    let _ = child.kill();
    let reaped = Instant::now() + KILL_GRACE;
    while Instant::now() < reaped {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Locks a mutex, ignoring poisoning (the buffer stays usable whatever happened).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Maps an exit status to [`Exit`].
fn exit_of(status: ExitStatus) -> Exit {
    if let Some(code) = status.code() {
        return Exit::Code(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        Exit::Signal(status.signal())
    }
    #[cfg(not(unix))]
    {
        Exit::Signal(None)
    }
}

/// Output storage that keeps the first and the last bytes when there is too much.
#[derive(Debug)]
struct CappedBuffer {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    half: usize,
    dropped: u64,
}

impl CappedBuffer {
    fn new(cap: usize) -> CappedBuffer {
        CappedBuffer { head: Vec::new(), tail: VecDeque::new(), half: cap / 2, dropped: 0 }
    }

    fn push(&mut self, mut data: &[u8]) {
        if self.head.len() < self.half {
            let take = data.len().min(self.half - self.head.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        self.tail.extend(data);
        if self.tail.len() > self.half {
            let excess = self.tail.len() - self.half;
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    fn contents(&self) -> Vec<u8> {
        let mut out = self.head.clone();
        if self.dropped > 0 {
            out.extend_from_slice(
                format!("\n[grade: {} bytes of output omitted here]\n", self.dropped).as_bytes(),
            );
        }
        out.extend(self.tail.iter());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_buffer_keeps_head_and_tail() {
        let mut b = CappedBuffer::new(8);
        b.push(b"abc");
        b.push(b"defghij");
        b.push(b"klm");
        let s = String::from_utf8(b.contents()).unwrap();
        assert!(s.starts_with("abcd"), "{s}");
        assert!(s.ends_with("jklm"), "{s}");
        assert!(s.contains("5 bytes of output omitted"), "{s}");
    }

    #[cfg(unix)]
    #[test]
    fn captures_both_streams_and_exit_code() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; exit 3"]);
        let r = run(c, Duration::from_secs(10)).unwrap();
        assert_eq!(r.exit, Exit::Code(3));
        let s = String::from_utf8(r.output).unwrap();
        assert!(s.contains("out") && s.contains("err"), "{s}");
    }

    #[cfg(unix)]
    #[test]
    fn kills_at_the_deadline() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo started; exec sleep 30"]);
        let r = run(c, Duration::from_millis(300)).unwrap();
        assert_eq!(r.exit, Exit::TimedOut);
        assert!(r.duration < Duration::from_secs(5));
        assert!(String::from_utf8_lossy(&r.output).contains("started"));
    }

    #[test]
    fn missing_program_is_an_error() {
        let c = Command::new("/nonexistent/grade-test-program");
        assert!(run(c, Duration::from_secs(1)).is_err());
    }
}
