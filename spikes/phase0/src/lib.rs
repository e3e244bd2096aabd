//! Phase 0 spikes: binaries that re-validate `USER_FEDERATION`, on-behalf-of and `M2M` against a
//! real AWS account (`--region`) or the local vault (`--endpoint`) and write a dated go/no-go
//! record. The binaries arrive with the spikes issue; this crate holds no code until then.
