//! The tokio runtime the resolvers run on, and blocking on it from Python threads.
//!
//! One runtime serves both `Resolver` and `AsyncResolver`: pyo3-async-runtimes' (a
//! multi-threaded tokio runtime started on first use). A synchronous call polls its future
//! once while holding the GIL (a cache hit is answered there, in well under a microsecond);
//! anything that must wait is finished on the runtime with the GIL released, so other Python
//! threads run meanwhile.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use pyo3::prelude::*;

/// The shared runtime.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `future` to completion for a synchronous caller, releasing the GIL while it waits.
pub fn block_on<F>(py: Python<'_>, future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = runtime();
    let mut future = pin!(future);
    let first = {
        // The runtime's context, so the first poll may arm timers and spawn.
        let _entered = runtime.enter();
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    };
    match first {
        Poll::Ready(output) => output,
        Poll::Pending => py.detach(|| runtime.block_on(future)),
    }
}
