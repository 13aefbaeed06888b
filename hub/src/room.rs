//! Room for request bytes in memory. The hub holds at most `[limits]
//! in_flight_megabytes` of requests at once over all connections, and one kommun at
//! most a quarter of that (or one largest request, if that is more), so a kommun
//! that sends slowly or too much cannot keep the others waiting. A request waits for
//! room before its bytes are allocated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use samla_common::codes::KommunCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The hub's room for requests.
pub struct RequestRoom {
    total: Arc<Semaphore>,
    /// What one kommun may hold.
    share: usize,
    kommuner: Mutex<HashMap<KommunCode, Arc<Semaphore>>>,
}

/// Room taken for one request; given back when dropped.
pub struct Room {
    _kommun: OwnedSemaphorePermit,
    _total: OwnedSemaphorePermit,
}

impl RequestRoom {
    /// Room for `total_bytes`, in which the largest request allowed must fit; `None`
    /// if it does not.
    pub fn new(total_bytes: u64, largest_request: u32) -> Option<RequestRoom> {
        let total = usize::try_from(total_bytes).ok()?;
        let largest = usize::try_from(largest_request).ok()?;
        if total > Semaphore::MAX_PERMITS || largest > total {
            return None;
        }
        Some(RequestRoom {
            total: Arc::new(Semaphore::new(total)),
            share: (total / 4).max(largest),
            kommuner: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for room for a request of `bytes` from `kommun` (no larger than the
    /// largest request allowed). `None` only if the room was closed.
    pub async fn take(&self, kommun: KommunCode, bytes: u32) -> Option<Room> {
        let own = {
            let mut kommuner = self.kommuner.lock().ok()?;
            Arc::clone(
                kommuner
                    .entry(kommun)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.share))),
            )
        };
        // The kommun's own share first, so a kommun waiting for its share holds none
        // of the common room.
        let kommun_permit = own.acquire_many_owned(bytes).await.ok()?;
        let total_permit = Arc::clone(&self.total)
            .acquire_many_owned(bytes)
            .await
            .ok()?;
        Some(Room {
            _kommun: kommun_permit,
            _total: total_permit,
        })
    }
}
