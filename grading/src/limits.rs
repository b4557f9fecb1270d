//! Resource limits of a graded run: memory, threads, no network.
//!
//! Student code can exhaust the grading machine: allocate without end, start threads without
//! end, or (were the rules bypassed) talk to the network. Each graded run therefore gets
//!
//! * **memory**: an address-space limit (`RLIMIT_AS`, 4 GiB by default, `--memory-limit`). An
//!   allocation past it fails, Rust aborts with "memory allocation of N bytes failed", and the
//!   grader records "out of memory" with the run's peak RSS. The reference's largest run reaches
//!   1.9 GB of address space (concurrent3_5b under the real backend; 0.6 GB under sim), so the
//!   default leaves it a margin of two. glibc's malloc arenas are capped at 8
//!   (`MALLOC_ARENA_MAX`), so that the address space does not grow with the grader's cores;
//! * **threads**: the grader reads the run's thread count from `/proc` while it runs and kills it
//!   past `--max-threads` (`RLIMIT_NPROC` would count the user's every process, and does not
//!   bind root);
//! * **no network**: where the machine allows it (Linux, with the right to make namespaces), each
//!   run starts in a network namespace of its own, with no interface but a down loopback. Where
//!   it does not, the scoreboard says so;
//! * **time**: the per-run timeout of [`crate::process`];
//! * no core dumps (`RLIMIT_CORE` 0).
//!
//! The limits are set in the child between `fork` and `exec` (`pre_exec`), so they bind the
//! run from its first instruction.

use std::process::Command;

/// The default memory limit: 4 GiB of address space.
pub const DEFAULT_MEMORY: u64 = 4 << 30;

/// The default thread limit (threads alive at once in one run).
pub const DEFAULT_THREADS: u64 = 10_000;

/// The limits of one graded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address-space limit in bytes (`None`: unlimited).
    pub memory_bytes: Option<u64>,
    /// Most threads alive at once (`None`: unlimited).
    pub max_threads: Option<u64>,
    /// Start each run in a network namespace of its own.
    pub isolate_network: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: Some(DEFAULT_MEMORY),
            max_threads: Some(DEFAULT_THREADS),
            isolate_network: false,
        }
    }
}

/// Parses a size: a number of bytes with an optional `K`, `M`, `G` or `T` suffix (powers of
/// 1024), or `none`.
pub fn parse_size(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    let usage = || format!("`{text}` is not a size: write e.g. 4G, 512M, 1073741824 or none");
    let (digits, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        Some('T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().map_err(|_| usage())?;
    let bytes = n.checked_mul(1u64 << shift).ok_or_else(usage)?;
    if bytes == 0 {
        return Err(usage());
    }
    Ok(Some(bytes))
}

/// Formats a byte count as the largest whole unit: `4 GiB`, `512 MiB`, `1536 KiB`.
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} B")
    }
}

/// Whether this machine lets the grader start a process in a network namespace of its own;
/// `Err` says why not.
pub fn probe_network_isolation() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("network namespaces are a Linux feature".into());
    }
    let mut command = Command::new("/bin/sh");
    command.args(["-c", "exit 0"]).stdin(std::process::Stdio::null());
    apply(&mut command, Limits { memory_bytes: None, max_threads: None, isolate_network: true });
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("a probe process in a new network namespace exited with {status}")),
        Err(e) => Err(format!("unshare(CLONE_NEWNET) failed: {e}")),
    }
}

/// Makes `command` start under `limits`.
pub fn apply(command: &mut Command, limits: Limits) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let memory = limits.memory_bytes;
        let isolate = limits.isolate_network;
        if memory.is_some() {
            // glibc reserves 64 MiB of address space per malloc arena, up to 8 per core: on a
            // 64-core grading machine that alone would exceed the limit. Eight arenas keep a
            // run's address space independent of the machine it is graded on.
            command.env("MALLOC_ARENA_MAX", "8");
        }
        // SAFETY: the closure runs in the child between fork and exec, where only
        // async-signal-safe calls are allowed: it makes only the setrlimit and unshare system
        // calls, allocates nothing and takes no lock.
        unsafe {
            command.pre_exec(move || {
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                if libc::setrlimit(libc::RLIMIT_CORE, &no_core) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(bytes) = memory {
                    let limit =
                        libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
                    if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if isolate && libc::unshare(libc::CLONE_NEWNET) != 0 {
                    // Without the right to make a network namespace as root, a user namespace
                    // may still grant it.
                    if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (command, limits);
    }
}

/// What `/proc/<pid>/status` says about a running process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStatus {
    /// Peak resident set size (`VmHWM`), bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Peak virtual size (`VmPeak`), bytes.
    pub peak_virtual_bytes: Option<u64>,
    /// Threads now (`Threads`).
    pub threads: Option<u64>,
}

/// Reads `/proc/<pid>/status` (`None` where there is no such file, or the process is gone).
pub fn proc_status(pid: u32) -> Option<ProcStatus> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(parse_status(&text))
}

/// Parses the text of a `/proc/<pid>/status` file.
pub fn parse_status(text: &str) -> ProcStatus {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let value = line[name.len()..].trim().trim_end_matches("kB").trim();
        let n: u64 = value.parse().ok()?;
        Some(if line.ends_with("kB") { n * 1024 } else { n })
    };
    ProcStatus {
        peak_rss_bytes: field("VmHWM:"),
        peak_virtual_bytes: field("VmPeak:"),
        threads: field("Threads:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("4G"), Ok(Some(4 << 30)));
        assert_eq!(parse_size("512m"), Ok(Some(512 << 20)));
        assert_eq!(parse_size("1024"), Ok(Some(1024)));
        assert_eq!(parse_size("none"), Ok(None));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert_eq!(format_size(4 << 30), "4 GiB");
        assert_eq!(format_size(512 << 20), "512 MiB");
        assert_eq!(format_size(1536 << 20), "1536 MiB");
        assert_eq!(format_size(429_128 << 10), "419 MiB");
        assert_eq!(format_size((5 << 30) + 1000), "5.0 GiB");
    }

    #[test]
    fn status_fields_parse() {
        let text = "Name:\tx\nVmPeak:\t  200000 kB\nVmHWM:\t    4096 kB\nThreads:\t17\n";
        let s = parse_status(text);
        assert_eq!(s.peak_rss_bytes, Some(4096 * 1024));
        assert_eq!(s.peak_virtual_bytes, Some(200_000 * 1024));
        assert_eq!(s.threads, Some(17));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn memory_limit_binds_the_child() {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "ulimit -v"]);
        apply(
            &mut command,
            Limits { memory_bytes: Some(256 << 20), max_threads: None, isolate_network: false },
        );
        let out = command.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), (256 << 10).to_string());
    }
}
