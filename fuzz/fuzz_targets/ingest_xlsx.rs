//! Spreadsheet exports from arbitrary bytes (the seed corpus holds real .xlsx files).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| samla_fuzz_support::read_export(data, "xlsx"));

mod samla_fuzz_support {
    include!("../support.rs");
}
