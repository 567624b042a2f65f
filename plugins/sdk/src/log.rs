//! Logging through the host's `log` import. The host attaches the connector's
//! name and scrubs secrets, so connectors can log freely. In native unit
//! tests the lines go to [`crate::testing::logs`] (and stderr, which the test
//! harness shows for a failing test) instead of aborting.

pub use crate::bindings::ferry::connector::log::Level;

pub fn emit(level: Level, message: &str) {
    crate::host::log(level, message);
}

pub fn trace(message: &str) {
    emit(Level::Trace, message);
}

pub fn debug(message: &str) {
    emit(Level::Debug, message);
}

pub fn info(message: &str) {
    emit(Level::Info, message);
}

pub fn warn(message: &str) {
    emit(Level::Warn, message);
}

pub fn error(message: &str) {
    emit(Level::Error, message);
}
