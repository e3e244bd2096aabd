//! spikes
