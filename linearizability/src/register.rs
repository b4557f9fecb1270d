//! The register model: one integer register with read, write and compare-and-set, initially
//! unset (nil). This is the object of the Jepsen etcd histories in the golden data.

use serde::{Deserialize, Serialize};

use super::Model;

/// The input of a register operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterInput {
    /// Read the register.
    Read,
    /// Set the register to a value.
    Write(i64),
    /// If the register holds `from`, set it to `to`.
    Cas {
        /// The value expected.
        from: i64,
        /// The value stored if the expectation holds.
        to: i64,
    },
}

/// The output of a register operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterOutput {
    /// The value read (`None` while the register is unset).
    Read(Option<i64>),
    /// A write completed.
    Write,
    /// Whether a compare-and-set succeeded.
    Cas(bool),
}

/// The register model. An operation with an unknown output is always legal: a read changes
/// nothing, a write sets the value, a cas sets it iff the register held `from`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegisterModel;

fn show(v: Option<i64>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

impl Model for RegisterModel {
    type Input = RegisterInput;
    type Output = RegisterOutput;
    type State = Option<i64>;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
    ) -> Option<Option<i64>> {
        match (*input, output) {
            (RegisterInput::Read, None) => Some(*state),
            (RegisterInput::Read, Some(RegisterOutput::Read(v))) => (v == state).then_some(*state),
            (RegisterInput::Write(v), None | Some(RegisterOutput::Write)) => Some(Some(v)),
            (RegisterInput::Cas { from, to }, None) => {
                Some(if *state == Some(from) { Some(to) } else { *state })
            }
            (RegisterInput::Cas { from, to }, Some(RegisterOutput::Cas(ok))) => {
                match (*state == Some(from), *ok) {
                    (true, true) => Some(Some(to)),
                    (false, false) => Some(*state),
                    _ => None,
                }
            }
            // An output that does not fit the input cannot be explained by any state.
            _ => None,
        }
    }

    /// Reads, and compare-and-sets known to have failed.
    fn is_read_only(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> bool {
        matches!(
            (input, output),
            (RegisterInput::Read, _) | (RegisterInput::Cas { .. }, Some(RegisterOutput::Cas(false)))
        )
    }

    fn describe_operation(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let out = match output {
            None => "?".to_string(),
            Some(RegisterOutput::Read(v)) => show(*v),
            Some(RegisterOutput::Write) => "ok".to_string(),
            Some(RegisterOutput::Cas(true)) => "ok".to_string(),
            Some(RegisterOutput::Cas(false)) => "fail".to_string(),
        };
        match input {
            RegisterInput::Read => format!("read() -> {out}"),
            RegisterInput::Write(v) => format!("write({v}) -> {out}"),
            RegisterInput::Cas { from, to } => format!("cas({from}, {to}) -> {out}"),
        }
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        show(*state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_steps() {
        let m = RegisterModel;
        let nil = m.init();
        let read = |v| Some(RegisterOutput::Read(v));
        assert_eq!(m.step(&nil, &RegisterInput::Read, read(None).as_ref()), Some(None));
        assert_eq!(m.step(&nil, &RegisterInput::Read, read(Some(1)).as_ref()), None);
        assert_eq!(m.step(&nil, &RegisterInput::Read, None), Some(None));
        let one = m.step(&nil, &RegisterInput::Write(1), Some(&RegisterOutput::Write)).unwrap();
        let cas = RegisterInput::Cas { from: 1, to: 2 };
        assert_eq!(m.step(&one, &cas, Some(&RegisterOutput::Cas(true))), Some(Some(2)));
        assert_eq!(m.step(&one, &cas, Some(&RegisterOutput::Cas(false))), None);
        assert_eq!(m.step(&nil, &cas, Some(&RegisterOutput::Cas(false))), Some(None));
        assert_eq!(m.step(&nil, &cas, None), Some(None));
        assert_eq!(m.step(&one, &cas, None), Some(Some(2)));
        assert_eq!(m.step(&one, &RegisterInput::Read, Some(&RegisterOutput::Write)), None);
        assert_eq!(m.describe_operation(&cas, Some(&RegisterOutput::Cas(false))), "cas(1, 2) -> fail");
        assert_eq!(m.describe_operation(&RegisterInput::Read, None), "read() -> ?");
    }
}
