//! The `elman` binary as a user runs it, one module per subject, each test in its own temporary
//! folder, asserting exit codes, messages and the files written.

mod browser;
mod cells;
mod errors;
mod forecast;
mod panel;
mod resume;
mod series;
mod serve;
mod server;
mod tutorial;
mod util;
