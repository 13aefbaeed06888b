//! Who runs the independent problems of disclosure control at once: the caller.
//!
//! `samla-common` starts no threads and never asks the operating system how many
//! cores it has. A node or hub passes a [`Parallel`] runner that spreads the jobs over
//! its own threads (`samla_cli_common::Threads`); tests and benchmarks of one problem
//! pass [`Sequential`]. A runner only decides where the jobs run: the results, and so
//! every suppression pattern, are the same whichever runner solved them.

/// Runs independent jobs, on as many threads as the implementation chooses.
pub trait Parallel {
    /// Calls `job(0)`, …, `job(count - 1)` and returns once every call has returned.
    /// The jobs are independent and may run in any order and at once; the first are
    /// the largest, so starting them in index order finishes soonest. A job that is
    /// never called (its thread died, say) is the caller's to redo.
    fn run(&self, count: usize, job: &(dyn Fn(usize) + Sync));
}

/// Every job on the calling thread, one after another.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sequential;

impl Parallel for Sequential {
    fn run(&self, count: usize, job: &(dyn Fn(usize) + Sync)) {
        (0..count).for_each(job);
    }
}
