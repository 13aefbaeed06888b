//! The cell key method's test setting, shared by the tests that run a region on it:
//! the perturbation table's parameters, the `[disclosure]` lines that name them, the
//! UNG project with targets, and the edit that puts a hub config on the method.

use samla_common::cell_key::PtableParams;

use crate::Region;

/// The perturbation table the tests use: D = 3, V = 1.5, js = 1.
pub const PARAMS: PtableParams = PtableParams {
    max_noise: 3,
    variance: 1.5,
    js: 1,
};

/// The `[disclosure]` lines of [`PARAMS`].
pub const DISCLOSURE: &str = "method = \"cell-key\"\nmax_noise = 3\nvariance = 1.5\njs = 1\n";

/// The UNG project of three Gävleborg kommuner, with targets, as a hub config's
/// `[[project]]` section.
pub const PROJECT: &str = "
[[project]]
code = \"UNG\"
name = \"UNG – Ung Nu Gävleborg\"
start = \"2023-09-01\"
end = \"2026-08-31\"
linkage_domain = \"gavleborg-ung-2023\"
kommuner = [\"2180\", \"2181\", \"2104\"]
[project.targets]
participants = 300
share_women = 0.4
";

/// Rewrites the region's hub config with `[disclosure]` holding `settings` instead of
/// its `k = 5` line, and `extra` appended.
pub fn set_disclosure(region: &Region, settings: &str, extra: &str) {
    let config = region.root().join("hub/hub.toml");
    let hub = std::fs::read_to_string(&config).unwrap();
    let at = hub.find("[disclosure]\n").unwrap() + "[disclosure]\n".len();
    let end = at + hub[at..].find('\n').unwrap() + 1;
    assert!(hub[at..end].starts_with("k = "), "{}", &hub[at..end]);
    let edited = format!("{}{settings}{}{extra}", &hub[..at], &hub[end..]);
    std::fs::write(&config, edited).unwrap();
}
