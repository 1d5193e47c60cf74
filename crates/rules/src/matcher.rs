//! Payload matching over one buffer.
