//! What the simulation asks of the operating system, to diagnose lab code that escapes it: the
//! kernel's view of a thread (is it asleep in a system call?), and a handler for a fault in a
//! simulated thread's stack guard page. A leaf: it knows nothing of the runtime above it; the
//! scheduler hands it a hook.
//!
//! Linux only. Elsewhere [`thread_id`] and [`asleep_in_kernel`] answer `None` and the fault
//! handler is not installed, so the runtime falls back to its other watchdogs.

/// The calling OS thread's kernel id.
pub(crate) fn thread_id() -> Option<i64> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no arguments and cannot fail.
        Some(unsafe { libc::syscall(libc::SYS_gettid) })
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Whether the thread with kernel id `tid` (of this process) is asleep in the kernel: blocked in
/// a system call such as a `std` sleep, lock, channel or I/O. `None` if it cannot be told.
pub(crate) fn asleep_in_kernel(tid: i64) -> Option<bool> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The state is the first field after the parenthesised command name.
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    Some(matches!(state, 'S' | 'D'))
}

/// Writes `text` to standard error without locking or allocating (from a signal handler).
pub(crate) fn write_stderr(text: &str) {
    #[cfg(unix)]
    {
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
    #[cfg(not(unix))]
    eprint!("{text}");
}

/// Ends the process at once with `code`, running no destructor and no exit hook.
pub(crate) fn exit_now(code: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe {
        libc::_exit(code)
    }
    #[cfg(not(unix))]
    std::process::abort()
}

/// Decides whether a fault at an address is the runtime's to report; if it is, it reports it
/// and ends the process (it does not return `true` then).
pub(crate) type FaultHook = fn(addr: usize) -> bool;

#[cfg(target_os = "linux")]
mod segv {
    use super::FaultHook;
    use std::sync::OnceLock;

    struct Installed {
        hook: FaultHook,
        previous_segv: libc::sigaction,
        previous_bus: libc::sigaction,
    }

    static INSTALLED: OnceLock<Installed> = OnceLock::new();

    extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let Some(inst) = INSTALLED.get() else { return };
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let addr = unsafe { (*info).si_addr() } as usize;
        if (inst.hook)(addr) {
            return;
        }
        // Not ours: hand it to the previous handler (std's, which names an overflowed std
        // thread), or restore the default action so that the fault repeats and kills us.
        let prev = if sig == libc::SIGBUS { &inst.previous_bus } else { &inst.previous_segv };
        let action = prev.sa_sigaction;
        if action == libc::SIG_DFL || action == libc::SIG_IGN {
            // SAFETY: resetting a signal's action to its default is always allowed.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
            // SAFETY: `action` is the handler the process installed for this signal.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(action) };
            f(sig, info, ctx);
        } else {
            // SAFETY: as above, for a handler that takes only the signal number.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(action) };
            f(sig);
        }
    }

    pub(crate) fn install(hook: FaultHook) {
        INSTALLED.get_or_init(|| {
            // SAFETY: plain sigaction calls with zero-initialised structs we own.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous_segv: libc::sigaction = std::mem::zeroed();
                let mut previous_bus: libc::sigaction = std::mem::zeroed();
                libc::sigaction(libc::SIGSEGV, &action, &mut previous_segv);
                libc::sigaction(libc::SIGBUS, &action, &mut previous_bus);
                Installed { hook, previous_segv, previous_bus }
            }
        });
    }

    /// An alternate signal stack for the calling thread, so that the handler can run when the
    /// thread's stack is the one that overflowed. Restores the previous one when dropped.
    pub(crate) struct AltStack {
        mem: *mut libc::c_void,
        len: usize,
        previous: libc::stack_t,
    }

    impl AltStack {
        pub(crate) fn new() -> Option<AltStack> {
            const LEN: usize = 64 * 1024;
            // SAFETY: an anonymous private mapping we own, installed as this thread's signal
            // stack; the previous setting is kept to be restored.
            unsafe {
                let mem = libc::mmap(
                    std::ptr::null_mut(),
                    LEN,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                if mem == libc::MAP_FAILED {
                    return None;
                }
                let stack = libc::stack_t { ss_sp: mem, ss_flags: 0, ss_size: LEN };
                let mut previous: libc::stack_t = std::mem::zeroed();
                if libc::sigaltstack(&stack, &mut previous) != 0 {
                    libc::munmap(mem, LEN);
                    return None;
                }
                Some(AltStack { mem, len: LEN, previous })
            }
        }
    }

    impl Drop for AltStack {
        fn drop(&mut self) {
            // SAFETY: restores the stack this thread had, then frees ours, which is no longer
            // installed.
            unsafe {
                libc::sigaltstack(&self.previous, std::ptr::null_mut());
                libc::munmap(self.mem, self.len);
            }
        }
    }
}

#[cfg(target_os = "linux")]
pub(crate) use segv::{AltStack, install as install_fault_hook};

/// No alternate signal stack off Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) struct AltStack;

#[cfg(not(target_os = "linux"))]
impl AltStack {
    pub(crate) fn new() -> Option<AltStack> {
        None
    }
}

/// No fault handler off Linux: a stack overflow in a simulated thread is a plain crash there.
#[cfg(not(target_os = "linux"))]
pub(crate) fn install_fault_hook(_hook: FaultHook) {}
