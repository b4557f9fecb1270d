//! Multi-producer multi-consumer channels, unbounded and bounded, with select.

use super::key_of;
use crate::context::with_sim;
use crate::sim::Wake;
use crate::time::{Duration, sim_deadline};
use crossbeam_channel as cb;
pub use crossbeam_channel::{RecvError, RecvTimeoutError, SendError, TryRecvError};
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Meta {
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Zero capacity under sim: stored in a one-slot buffer, and `send` waits until it is taken.
    rendezvous: bool,
}

/// The sending half of a channel. Cloning makes another sender.
pub struct Sender<T> {
    inner: Option<cb::Sender<T>>,
    meta: Arc<Meta>,
}

/// The receiving half of a channel. Cloning makes another receiver of the same queue.
pub struct Receiver<T> {
    inner: cb::Receiver<T>,
    meta: Arc<Meta>,
}

fn make<T>(cap: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let sim = with_sim(|_| ()).is_some();
    let rendezvous = sim && cap == Some(0);
    let (tx, rx) = match cap {
        None => cb::unbounded(),
        Some(0) if sim => cb::bounded(1),
        Some(n) => cb::bounded(n),
    };
    let meta = Arc::new(Meta { senders: AtomicUsize::new(1), receivers: AtomicUsize::new(1), rendezvous });
    (Sender { inner: Some(tx), meta: meta.clone() }, Receiver { inner: rx, meta })
}

/// A channel with an unlimited buffer: `send` never blocks.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    make(None)
}

/// A channel holding at most `cap` messages: `send` blocks while it is full. With `cap == 0`
/// each send waits for a receiver to take the message.
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    make(Some(cap))
}

impl<T> Sender<T> {
    fn key(&self) -> usize {
        key_of(&*self.meta)
    }
    fn tx(&self) -> &cb::Sender<T> {
        self.inner.as_ref().expect("sender is live")
    }

    /// Sends `msg`, waiting for room in a bounded channel. Fails if every receiver is gone.
    #[track_caller]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        let at = Location::caller();
        let mut msg = Some(msg);
        let r = with_sim(|s| {
            s.yield_now();
            loop {
                match self.tx().try_send(msg.take().expect("message")) {
                    Ok(()) => {
                        s.notify(self.key(), true);
                        if self.meta.rendezvous {
                            while !self.tx().is_empty() && self.meta.receivers.load(Ordering::Relaxed) > 0 {
                                if s.block(&[self.key()], None, "Sender::send (waiting for a receiver)", at)
                                    == Wake::Killed
                                {
                                    break;
                                }
                            }
                        }
                        return Ok(());
                    }
                    Err(cb::TrySendError::Full(m)) => {
                        if s.block(&[self.key()], None, "Sender::send (channel full)", at) == Wake::Killed {
                            return Err(SendError(m));
                        }
                        msg = Some(m);
                    }
                    Err(cb::TrySendError::Disconnected(m)) => return Err(SendError(m)),
                }
            }
        });
        match r {
            Some(r) => r,
            None => self.tx().send(msg.take().expect("message")),
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.meta.senders.fetch_add(1, Ordering::Relaxed);
        Sender { inner: self.inner.clone(), meta: self.meta.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        drop(self.inner.take());
        if self.meta.senders.fetch_sub(1, Ordering::Relaxed) == 1 {
            let key = self.key();
            with_sim(|s| s.notify(key, true));
        }
    }
}

impl<T> Receiver<T> {
    fn key(&self) -> usize {
        key_of(&*self.meta)
    }

    fn sim_recv(
        &self,
        s: &crate::sim::Sim,
        timeout: Option<Duration>,
        at: &'static Location<'static>,
    ) -> Result<T, RecvTimeoutError> {
        s.yield_now();
        let deadline = timeout.map(|d| sim_deadline(s, d));
        loop {
            match self.inner.try_recv() {
                Ok(v) => {
                    if self.inner.capacity().is_some() {
                        s.notify(self.key(), true);
                    }
                    return Ok(v);
                }
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => match s.block(&[self.key()], deadline, "Receiver::recv", at) {
                    Wake::Timeout => {
                        return self.inner.try_recv().map_err(|e| match e {
                            TryRecvError::Empty => RecvTimeoutError::Timeout,
                            TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                        });
                    }
                    Wake::Killed => return Err(RecvTimeoutError::Disconnected),
                    _ => {}
                },
            }
        }
    }

    /// Waits for a message. Fails once the channel is empty and every sender is gone.
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        let at = Location::caller();
        match with_sim(|s| self.sim_recv(s, None, at)) {
            Some(r) => r.map_err(|_| RecvError),
            None => self.inner.recv(),
        }
    }

    /// Waits for a message for at most `timeout` (virtual under sim).
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let at = Location::caller();
        match with_sim(|s| self.sim_recv(s, Some(timeout), at)) {
            Some(r) => r,
            None => self.inner.recv_timeout(timeout),
        }
    }

    /// Takes a message if one is waiting.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let r = self.inner.try_recv();
        with_sim(|s| {
            if r.is_ok() && self.inner.capacity().is_some() {
                s.notify(self.key(), true);
            }
            s.yield_now();
        });
        r
    }

    /// An iterator that receives until every sender is gone.
    #[track_caller]
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let at = Location::caller();
        std::iter::from_fn(move || match with_sim(|s| self.sim_recv(s, None, at)) {
            Some(r) => r.ok(),
            None => self.inner.recv().ok(),
        })
    }

    /// Messages waiting in the channel.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    fn ready(&self) -> bool {
        !self.inner.is_empty() || self.meta.senders.load(Ordering::Relaxed) == 0
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.meta.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver { inner: self.inner.clone(), meta: self.meta.clone() }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.meta.receivers.fetch_sub(1, Ordering::Relaxed);
        let key = self.key();
        with_sim(|s| s.notify(key, true));
    }
}

trait Ready {
    fn ready(&self) -> bool;
    fn key(&self) -> usize;
}

impl<T> Ready for Receiver<T> {
    fn ready(&self) -> bool {
        Receiver::ready(self)
    }
    fn key(&self) -> usize {
        Receiver::key(self)
    }
}

/// Waits until one of several receivers has a message (or is disconnected).
///
/// ```ignore
/// let mut sel = Select::new();
/// let a = sel.recv(&rx_a);
/// let b = sel.recv(&rx_b);
/// match sel.ready() { i if i == a => { rx_a.try_recv() ... } _ => ... }
/// ```
pub struct Select<'a> {
    real: cb::Select<'a>,
    items: Vec<&'a dyn Ready>,
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a> Select<'a> {
    /// An empty selection.
    pub fn new() -> Select<'a> {
        Select { real: cb::Select::new(), items: Vec::new() }
    }

    /// Adds a receiver and returns its index.
    pub fn recv<T>(&mut self, r: &'a Receiver<T>) -> usize {
        self.real.recv(&r.inner);
        self.items.push(r);
        self.items.len() - 1
    }

    fn sim_ready(
        &self,
        s: &crate::sim::Sim,
        timeout: Option<Duration>,
        at: &'static Location<'static>,
    ) -> Option<usize> {
        s.yield_now();
        let deadline = timeout.map(|d| sim_deadline(s, d));
        let keys: Vec<usize> = self.items.iter().map(|i| i.key()).collect();
        loop {
            if let Some(i) = self.items.iter().position(|i| i.ready()) {
                return Some(i);
            }
            match s.block(&keys, deadline, "Select::ready", at) {
                Wake::Timeout => return self.items.iter().position(|i| i.ready()),
                Wake::Killed => return Some(0),
                _ => {}
            }
        }
    }

    /// Waits until some receiver is ready and returns its index; then take the message with
    /// `try_recv` (or `recv`).
    #[track_caller]
    pub fn ready(&mut self) -> usize {
        let at = Location::caller();
        match with_sim(|s| self.sim_ready(s, None, at)) {
            Some(i) => i.expect("no deadline"),
            None => self.real.ready(),
        }
    }

    /// Like [`Select::ready`], but gives up after `timeout` and returns `None`.
    #[track_caller]
    pub fn ready_timeout(&mut self, timeout: Duration) -> Option<usize> {
        let at = Location::caller();
        match with_sim(|s| self.sim_ready(s, Some(timeout), at)) {
            Some(i) => i,
            None => self.real.ready_timeout(timeout).ok(),
        }
    }
}
