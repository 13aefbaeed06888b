//! Audit bundles (JSON) from arbitrary bytes, parsed and verified.
#![no_main]

use libfuzzer_sys::fuzz_target;
use samla_common::audit::{self, HubBundle, NodeBundle};

fuzz_target!(|data: &[u8]| {
    let hub = serde_json::from_slice::<HubBundle>(data);
    if let Ok(hub) = &hub {
        let _ = audit::verify_hub_log(hub);
    }
    if let Ok(node) = serde_json::from_slice::<NodeBundle>(data) {
        let _ = audit::verify_node_log(&node);
        if let Ok(hub) = &hub {
            let _ = audit::cross_check(&node, hub);
        }
    }
});
