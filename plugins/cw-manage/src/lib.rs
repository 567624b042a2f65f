//! placeholder until the CW Manage connector lands
