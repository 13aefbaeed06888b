//! CSV exports from arbitrary bytes, through the node's whole reading path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| samla_fuzz_support::read_export(data, "csv"));

mod samla_fuzz_support {
    include!("../support.rs");
}
