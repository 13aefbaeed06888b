//! Hub and node configs from arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new("/etc/samla/fuzz.toml");
        let _ = samla_hub::config::HubConfig::parse(text, path);
        let _ = samla_node::config::NodeConfig::parse(text, path);
    }
});
