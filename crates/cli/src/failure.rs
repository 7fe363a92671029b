//! The one error type every verb returns: a message and an exit status.

use std::fmt;

/// A failed command: what to print and which status to exit with.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Bad input or usage: exit status 2.
    pub fn input(message: impl fmt::Display) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }

    /// A negative answer (rejected program, failed check): exit status 1.
    pub fn negative(message: impl fmt::Display) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }

    /// Any other exit status (`run`'s 126 and 127).
    pub fn status(code: u8, message: impl fmt::Display) -> Failure {
        Failure {
            code,
            message: message.to_string(),
        }
    }

    /// The exit status.
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Shorthand for a verb's result: the exit status on success.
pub type Outcome = Result<u8, Failure>;
