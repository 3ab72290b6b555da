use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_symlink_leads_to_its_target_which_is_updated_while_the_link_stays() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    std::fs::write(&real, "old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let to = target(&link).unwrap();
    replace(&to, b"new").unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");

    let dangling = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("missing"), &dangling).unwrap();
    let err = target(&dangling).unwrap_err();
    assert!(
        err.contains("symlink whose target cannot be reached"),
        "{err}"
    );
}

#[test]
fn a_replaced_file_keeps_owner_group_and_mode_and_a_new_one_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared.json");
    std::fs::write(&shared, "old").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
    // The tests run as root, which may give a file away: the proxy's user, say.
    std::os::unix::fs::chown(&shared, Some(65534), Some(65534)).unwrap();
    replace(&shared, b"new").unwrap();
    let m = std::fs::metadata(&shared).unwrap();
    assert_eq!((m.uid(), m.gid(), mode(&shared)), (65534, 65534, 0o640));
    check_replaceable(&shared, "--file").unwrap();

    let fresh = dir.path().join("fresh.json");
    replace(&fresh, b"new").unwrap();
    assert_eq!(mode(&fresh), 0o600);
}

#[test]
fn a_fifo_or_a_directory_is_refused_without_being_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Reading a FIFO with no writer would block: a regression fails here after 10 s.
    let (done, finished) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || done.send(read(&path)));
    let err = finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("read() returned instead of opening the FIFO")
        .unwrap_err();
    assert!(
        err.contains("named pipe (FIFO), not a regular file"),
        "{err}"
    );
    assert!(check_replaceable(&fifo, "--file").is_err());
    let err = read(dir.path()).unwrap_err();
    assert!(err.contains("a directory"), "{err}");
    assert_eq!(read(&dir.path().join("none")).unwrap(), None);
}

#[test]
fn an_update_waits_for_the_lock_another_holds_and_gives_up_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.json");
    let held = UpdateLock::acquire(&file, LOCK_WAIT).unwrap();
    let err = UpdateLock::acquire(&file, Duration::from_millis(100)).unwrap_err();
    assert!(err.contains("another run has been writing"), "{err}");

    let waiter = std::thread::spawn(move || UpdateLock::acquire(&file, LOCK_WAIT).is_ok());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !waiter.is_finished(),
        "the second update waits while the first holds the lock"
    );
    drop(held);
    assert!(waiter.join().unwrap());
}

#[test]
fn a_file_that_is_not_utf8_says_so_not_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("terraform.tfvars");
    std::fs::write(&file, b"jira_cloud_id = \"\xff\xfe\"\n").unwrap();
    let err = read(&file).unwrap_err();
    assert!(err.contains("it is not UTF-8 text"), "{err}");
    assert!(!err.contains("permissions"), "{err}");
}
