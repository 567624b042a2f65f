//! Logging through the host's `log` import. The host attaches the connector's
//! name and scrubs secrets, so connectors can log freely.

use crate::bindings::ferry::connector::log::{Level, emit};

pub fn debug(message: &str) {
    emit(Level::Debug, message);
}

pub fn info(message: &str) {
    emit(Level::Info, message);
}

pub fn warn(message: &str) {
    emit(Level::Warn, message);
}
