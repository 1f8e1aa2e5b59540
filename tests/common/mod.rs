//! Helpers shared by the integration tests; each test file that needs them says `mod common;`.
// Every test binary compiles this module, and none uses all of it.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The `musiclime` binary built for these tests.
pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_musiclime"))
}

/// Asserts that a finished command exited with status 0, showing its stderr when it did not.
#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
