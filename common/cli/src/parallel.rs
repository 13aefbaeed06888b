//! The threads disclosure control runs on. `samla-common` asks its caller for a
//! [`Parallel`] runner instead of starting threads; this is the runner both binaries
//! pass: scoped threads, one per core, each taking the next job until none is left.

use std::sync::atomic::{AtomicUsize, Ordering};

use samla_common::disclosure::Parallel;

/// Runs jobs on up to a fixed number of scoped threads (the calling thread included).
#[derive(Debug, Clone, Copy)]
pub struct Threads {
    threads: usize,
}

impl Threads {
    /// One thread per core the operating system offers this process (at least one).
    pub fn available() -> Threads {
        Threads::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// Exactly `threads` threads (at least one).
    pub fn new(threads: usize) -> Threads {
        Threads {
            threads: threads.max(1),
        }
    }
}

impl Parallel for Threads {
    fn run(&self, count: usize, job: &(dyn Fn(usize) + Sync)) {
        let threads = self.threads.min(count);
        if threads <= 1 {
            (0..count).for_each(job);
            return;
        }
        let next = AtomicUsize::new(0);
        let work = || loop {
            let at = next.fetch_add(1, Ordering::Relaxed);
            if at >= count {
                return;
            }
            job(at);
        };
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            work();
            for helper in helpers {
                // A helper that panicked leaves its job undone; the caller redoes
                // what was not done (see `Parallel::run`).
                let _ = helper.join();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    #[test]
    fn every_job_runs_once_whatever_the_number_of_threads() {
        for threads in [1, 2, 3, 8] {
            for count in [0, 1, 2, 5, 40] {
                let calls: Vec<AtomicU32> = (0..count).map(|_| AtomicU32::new(0)).collect();
                Threads::new(threads).run(count, &|i| {
                    calls[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(
                    calls.iter().all(|c| c.load(Ordering::Relaxed) == 1),
                    "{threads} threads, {count} jobs"
                );
            }
        }
    }

    #[test]
    fn jobs_run_on_more_than_one_thread_when_asked() {
        let seen = std::sync::Mutex::new(std::collections::HashSet::new());
        let barrier = std::sync::Barrier::new(2);
        Threads::new(2).run(2, &|_| {
            // Both jobs wait for each other: this returns only if they run at once.
            barrier.wait();
            seen.lock()
                .map(|mut s| s.insert(std::thread::current().id()))
                .ok();
        });
        assert_eq!(seen.lock().map(|s| s.len()).ok(), Some(2));
    }
}
