//! Every example node config in `configs/` loads and passes validation.

use std::path::{Path, PathBuf};

use samla_node::config::NodeConfig;

fn node_configs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("configs/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            node_configs(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("node") && n.ends_with(".toml"))
        {
            out.push(path);
        }
    }
}

#[test]
fn example_node_configs_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut files = Vec::new();
    node_configs(&root, &mut files);
    assert!(!files.is_empty(), "configs/ has node configs");
    for file in files {
        let config = NodeConfig::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!config.projects.is_empty(), "{}", file.display());
    }
}
