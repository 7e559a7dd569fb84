//! Output sinks.

/// Sinks on pipelines.
pub trait SinkExt {}
