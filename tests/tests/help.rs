//! Every command of the three binaries, found by walking `--help`, shows an example.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use samla_tests::binary;

/// The subcommand names listed under "Commands:" in a help text.
fn subcommands(help: &str) -> Vec<String> {
    let Some(start) = help.find("Commands:") else {
        return Vec::new();
    };
    help[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A name starts in the third column; wrapped descriptions are indented more.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

fn walk(program: &str, path: Vec<String>, leaves: &mut Vec<(Vec<String>, String)>) {
    let mut args = path.clone();
    args.push("--help".to_owned());
    let o = std::process::Command::new(binary(program))
        .args(&args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{program} {args:?}");
    let help = String::from_utf8(o.stdout).unwrap();
    let children = subcommands(&help);
    if children.is_empty() {
        leaves.push((path.clone(), help));
    }
    for child in children {
        let mut next = path.clone();
        next.push(child);
        walk(program, next, leaves);
    }
}

#[test]
fn every_command_has_an_example_in_its_help() {
    for (program, least) in [
        ("samla-hub", 11),
        ("samla-node", 11),
        ("samla-custodian", 8),
    ] {
        let mut leaves = Vec::new();
        walk(program, Vec::new(), &mut leaves);
        assert!(
            leaves.len() >= least,
            "{program}: {} commands",
            leaves.len()
        );
        for (path, help) in leaves {
            assert!(
                help.contains("Example:") || help.contains("Examples:"),
                "{program} {} --help has no example:\n{help}",
                path.join(" ")
            );
        }
    }
}
