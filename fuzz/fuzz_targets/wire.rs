//! Frame headers, requests, responses and signed submissions from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use samla_common::wire::{self, Request, Response, SignedReceipt};

fuzz_target!(|data: &[u8]| {
    if let Some(header) = data.get(..4) {
        let _ = wire::frame_length([header[0], header[1], header[2], header[3]], 1 << 20);
    }
    if let Ok(Request::Submit(signed)) = samla_common::codec::decode::<Request>(data) {
        let _ = signed.verify("2180".parse().expect("a kommun code"), &[]);
    }
    let _ = samla_common::codec::decode::<Response>(data);
    let _ = samla_common::codec::decode::<SignedReceipt>(data);
});
