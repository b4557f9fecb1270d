//! labrpc: the simulated, unreliable network that lab servers talk over.
//!
//! It has exactly the semantics and numbers of 6.5840's labrpc (`labrpc/labrpc.go`): ends that
//! can be enabled and disabled (that is how partitions are made), servers that can be deleted or
//! replaced (that is how crashes are made), reliable and unreliable modes, long delays and long
//! reordering, and three counters. A [`ClientEnd::call`] always returns.
//!
//! It is built only on `labs`, so under the sim backend every delay is a virtual timer and every
//! fault is drawn from the world's seed. Handlers run on threads of the server's node, never on
//! the caller's delivery path, so a handler that blocks stalls no other call.
//!
//! ```ignore
//! let net = Network::new();
//! let server = Server::new(&node);
//! server.add_service(Service::new("Kv").handler("Get", move |key: String| kv.get(&key)));
//! net.add_server("s0", server);
//! let end = net.make_end("c0-s0");
//! net.connect("c0-s0", "s0");
//! net.enable("c0-s0", true);
//! let v: Option<String> = end.call("Kv.Get", &"k".to_string())?;
//! ```

mod network;
mod server;
pub mod tap;

pub use network::{ClientEnd, DUPLICATE_DELAY_MS, DUPLICATE_PER_MILLE, Network, REQUEST_DELAY_MS};
pub use server::{Server, Service};
pub use tap::{CallInfo, Fault, Stamp, Tap};

/// Why a call got no reply. `true`/`false` in 6.5840 becomes `Ok`/`Err` here.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The network was cleaned up.
    #[error("the network was cleaned up: no call can be made after Network::cleanup")]
    NetworkClosed,
    /// The unreliable network dropped the request; the handler did not run.
    #[error("the request to {method} was lost (unreliable network)")]
    RequestDropped {
        /// `Service.Method`.
        method: String,
    },
    /// The unreliable network dropped the reply; the handler did run.
    #[error("the reply from {method} was lost (unreliable network)")]
    ReplyDropped {
        /// `Service.Method`.
        method: String,
    },
    /// The end is disabled or unconnected, or its server is gone.
    #[error("no reply on end '{end}': it is disabled, unconnected, or its server is gone")]
    Unreachable {
        /// The end's name.
        end: String,
    },
    /// The server was deleted or replaced, or the end disabled, while the call was in flight.
    #[error("server '{server}' went away (deleted, replaced or cut off) before replying to {method}")]
    ServerDead {
        /// The server's name on the network.
        server: String,
        /// `Service.Method`.
        method: String,
    },
    /// The method name is not `Service.Method`.
    #[error("'{0}' is not a method name: use \"Service.Method\", e.g. \"Raft.RequestVote\"")]
    BadMethodName(String),
    /// The server has no such service.
    #[error("server '{server}' has no service '{service}'; it has: {available}")]
    UnknownService {
        /// The server's node.
        server: String,
        /// The service asked for.
        service: String,
        /// The services that exist, comma-separated.
        available: String,
    },
    /// The service has no such method.
    #[error("service '{service}' on server '{server}' has no method '{method}'; it has: {available}")]
    UnknownMethod {
        /// The server's node.
        server: String,
        /// The service.
        service: String,
        /// The method asked for.
        method: String,
        /// The methods that exist, comma-separated.
        available: String,
    },
    /// The arguments could not be encoded.
    #[error("{method}: the arguments could not be encoded: {detail}")]
    Encode {
        /// `Service.Method`.
        method: String,
        /// The encoder's message.
        detail: String,
    },
    /// The arguments did not decode as the handler's argument type.
    #[error(
        "{method}: the arguments did not decode as {expected} ({detail}); do the caller and the handler agree on the type?"
    )]
    BadArgs {
        /// `Service.Method`.
        method: String,
        /// The handler's argument type.
        expected: String,
        /// The decoder's message.
        detail: String,
    },
    /// The reply did not decode as the caller's reply type.
    #[error(
        "{method}: the reply did not decode as {expected} ({detail}); do the caller and the handler agree on the type?"
    )]
    BadReply {
        /// `Service.Method`.
        method: String,
        /// The caller's reply type.
        expected: String,
        /// The decoder's message.
        detail: String,
    },
    /// The handler panicked.
    #[error("handler {method} on server '{server}' panicked: {message}")]
    HandlerPanicked {
        /// The server's node.
        server: String,
        /// `Service.Method`.
        method: String,
        /// The panic message.
        message: String,
    },
}
