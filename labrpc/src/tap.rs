//! What a tester can see of each call, and the faults it can script, beyond 6.5840's labrpc.
//!
//! A *tap* ([`crate::Network::set_tap`]) is told of every call three times: when a request
//! reaches a handler ([`Tap::Arrived`], before the handler runs), when the handler finishes
//! ([`Tap::Handled`], whether or not its caller still waits for it), and when the call returns
//! to its caller ([`Tap::Returned`]). Each report carries the encoded
//! arguments and reply, the caller's node, the server's node (which names the instance, e.g.
//! `server-2#1`), the time and a sequence number from one counter per network, so that a
//! monitor can order what happened on different threads. Testers decode the bytes with the
//! lab's RPC types and check protocol rules over the whole stream.
//!
//! A *filter* ([`crate::Network::set_filter`]) decides the fate of chosen calls: a tester drops
//! one request or one reply on purpose to reach a window that random faults rarely hit.

use labs::events::RpcFate;
use std::sync::Arc;

/// A point in a run: the world's clock and the network's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// The sequence number: every stamp of one network is distinct, in the order taken.
    pub seq: u64,
    /// The world's clock, in nanoseconds (virtual under sim).
    pub t: u64,
}

/// A request that reached a handler, which is about to run (see [`Tap::Arrived`]).
#[derive(Clone, Debug)]
pub struct Arrived {
    /// The call's id (a duplicate delivery has the id of its original).
    pub call: u64,
    /// The node of the thread that made the call.
    pub caller: Arc<str>,
    /// The server's name on the network.
    pub server: Arc<str>,
    /// The server's node: the instance that runs the handler.
    pub node: Arc<str>,
    /// `Service.Method`.
    pub method: Arc<str>,
    /// The encoded arguments.
    pub args: Arc<[u8]>,
    /// When the handler starts (the same stamp as [`Handled::start`]).
    pub at: Stamp,
    /// Whether this is a duplicate delivery.
    pub duplicate: bool,
}

/// A request that a handler ran (see [`Tap::Handled`]).
#[derive(Clone, Debug)]
pub struct Handled {
    /// The call's id (a duplicate delivery has the id of its original).
    pub call: u64,
    /// The node of the thread that made the call (e.g. `server-0`, `tester`).
    pub caller: Arc<str>,
    /// The server's name on the network (e.g. `server-2`).
    pub server: Arc<str>,
    /// The server's node: the instance that ran the handler (e.g. `server-2#1`).
    pub node: Arc<str>,
    /// `Service.Method`.
    pub method: Arc<str>,
    /// The encoded arguments.
    pub args: Arc<[u8]>,
    /// The encoded reply (`None` if the handler failed: bad arguments, a panic).
    pub reply: Option<Arc<[u8]>>,
    /// When the handler started.
    pub start: Stamp,
    /// When it returned.
    pub end: Stamp,
    /// Whether this server instance was still on the network when the handler returned (a
    /// handler of a crashed instance may finish after the crash under the real backend).
    pub live: bool,
    /// Whether this was a duplicate delivery (see [`crate::Network::set_duplication`]).
    pub duplicate: bool,
}

/// A call that returned to its caller (see [`Tap::Returned`]).
#[derive(Clone, Debug)]
pub struct Returned {
    /// The call's id.
    pub call: u64,
    /// The node of the thread that made the call.
    pub caller: Arc<str>,
    /// The server's name on the network (the end's name if it leads nowhere).
    pub server: Arc<str>,
    /// The server's node, if the end led to a server.
    pub node: Option<Arc<str>>,
    /// `Service.Method`.
    pub method: Arc<str>,
    /// The encoded arguments.
    pub args: Arc<[u8]>,
    /// The encoded reply, when the caller got one.
    pub reply: Option<Arc<[u8]>>,
    /// What became of the call.
    pub fate: RpcFate,
    /// When the call was made.
    pub sent: Stamp,
    /// When it returned.
    pub done: Stamp,
}

/// A report to a tap.
#[derive(Clone, Debug)]
pub enum Tap {
    /// A request reached a handler, which has not run yet.
    Arrived(Arrived),
    /// A handler returned (its reply may still be lost, or its caller gone).
    Handled(Handled),
    /// A call returned to its caller.
    Returned(Returned),
}

/// A tap: told of every call, on the thread that handled or made it. It must be quick and
/// must not make calls on the network.
pub type TapFn = Arc<dyn Fn(&Tap) + Send + Sync>;

/// A call as a filter sees it, when it is made.
#[derive(Clone, Debug)]
pub struct CallInfo<'a> {
    /// The node of the thread making the call.
    pub caller: &'a str,
    /// The end's name.
    pub end: &'a str,
    /// The server's name on the network the end leads to, if any.
    pub server: Option<&'a str>,
    /// `Service.Method`.
    pub method: &'a str,
}

/// What a filter decides for a call (on top of the network's own faults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: the call goes as the network would send it.
    None,
    /// The request is lost: the handler does not run.
    DropRequest,
    /// The handler runs, and its reply is lost.
    DropReply,
}

/// A filter: decides a [`Fault`] for each call when it is made.
pub type FilterFn = Arc<dyn Fn(&CallInfo<'_>) -> Fault + Send + Sync>;
