//! The registry's files are private: made 0600 in a 0700 directory, and refused when others can read
//! them.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use predicates::str::contains;

use crate::helpers::Machine;

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn init_makes_the_registry_private_and_a_readable_registry_is_refused() {
    let m = Machine::new();
    assert_eq!(mode(&m.data()), 0o700);
    let registry = m.data().join("registry.sqlite");
    assert_eq!(mode(&registry), 0o600);
    m.issue(&[]);
    for entry in fs::read_dir(m.data()).expect("data dir") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }

    fs::set_permissions(&registry, fs::Permissions::from_mode(0o644)).expect("chmod");
    for args in [
        &["show", "000000013"][..],
        &["serve", "--listen", "127.0.0.1:0"],
    ] {
        m.run(args)
            .assert()
            .code(1)
            .stderr(contains("can be read by other accounts"))
            .stderr(contains("chmod 600"));
    }
}

#[test]
fn a_backup_is_as_private_as_the_registry() {
    let m = Machine::new();
    m.issue(&[]);
    let copy = m.path("backup.sqlite");
    m.run(&["backup", copy.to_str().expect("path")])
        .assert()
        .success();
    assert_eq!(mode(&copy), 0o600);
}
