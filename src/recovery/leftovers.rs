//! Recovery files earlier runs left: found in the state directory or in a private directory of
//! this user's in the temp dir, and judged against the store before anyone is told to push one.
//! A file a live run still holds is not a leftover; a file that cannot be read is reported, not
//! skipped; a file the store has moved past is deleted.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::load::{CHECK_FROM, open_checked, parse_opened};
use super::verdict::{self, Verdict};
use super::{Pending, TEMP_DIR_PREFIX, directory, live, owned_by_me, push_command};
use crate::store::{SecretStore, StoreTarget};

/// A recovery file found on disk.
pub enum Leftover {
    /// Nobody holds it: an earlier run ended without confirming these values in the store. The
    /// open file keeps a shared lock, so no push takes it while it is judged.
    Abandoned(PathBuf, Box<Pending>, File),
    /// It cannot be used (not a regular file, another user's, corrupt, truncated): why.
    Unusable(PathBuf, String),
}

/// The candidates' paths: `recovery-*.json` in the state directory and in this user's private
/// temp directories.
fn candidates() -> Vec<PathBuf> {
    let temp_dirs = std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(TEMP_DIR_PREFIX))
                && std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && owned_by_me(&m))
        });
    let mut found: Vec<PathBuf> = directory()
        .into_iter()
        .chain(temp_dirs)
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("recovery-") && n.ends_with(".json"))
        })
        .collect();
    found.sort();
    found
}

/// Recovery files for this prefix and store that no live run holds, and every file that cannot
/// be read (it may be for this deployment: nobody can tell).
pub fn leftovers(prefix: &str, target: Option<&StoreTarget>) -> Vec<Leftover> {
    candidates()
        .into_iter()
        .filter_map(|path| {
            let file = match open_checked(&path) {
                Ok(file) => file,
                Err(why) => return Some(Leftover::Unusable(path, why)),
            };
            if live::in_use(&file) {
                tracing::info!(path = %path.display(), "a run in progress holds this recovery file");
                return None;
            }
            match parse_opened(&path, file) {
                Ok(opened) if opened.pending.is_for(prefix, target) => Some(Leftover::Abandoned(
                    path,
                    Box::new(opened.pending),
                    opened.file,
                )),
                Ok(_) => None,
                Err(why) => Some(Leftover::Unusable(path, why)),
            }
        })
        .collect()
}

/// What to tell the operator about leftover files: `problems` need them (run a push, look at a
/// file), `notes` say what was tidied (obsolete files deleted).
#[derive(Debug, Default)]
pub struct Review {
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// Judges each leftover for this prefix against `store`: a file whose values are stored, or
/// that the store has moved past, is deleted (its tokens are spent or superseded, and pushing it
/// would do harm); the others are named with what to do.
pub async fn review_leftovers(
    store: &dyn SecretStore,
    prefix: &str,
    target: Option<&StoreTarget>,
) -> Review {
    let mut review = Review::default();
    for leftover in leftovers(prefix, target) {
        // The shared lock is held until the file is judged (and deleted, if it goes).
        let (path, pending, _held) = match leftover {
            Leftover::Unusable(_, why) => {
                review
                    .problems
                    .push(why.replace(CHECK_FROM, "look at it, then delete it"));
                continue;
            }
            Leftover::Abandoned(path, pending, file) => (path, *pending, file),
        };
        let verdict = match verdict::observe(store, &pending).await {
            Ok(seen) => verdict::decide(&pending, &seen),
            Err(e) => {
                review.problems.push(notice(
                    &path,
                    &pending,
                    &format!("the store could not be compared with it ({e})"),
                ));
                continue;
            }
        };
        match verdict {
            Verdict::Forward => review.problems.push(notice(
                &path,
                &pending,
                "the store holds an older family",
            )),
            Verdict::Unfinished => review.problems.push(notice(
                &path,
                &pending,
                "its values are in the store, but the run ended before handing them over to the running proxy",
            )),
            Verdict::Stored | Verdict::Obsolete(_) => {
                let why = match &verdict {
                    Verdict::Obsolete(why) => why.clone(),
                    _ => "its values are in the store".into(),
                };
                match std::fs::remove_file(&path) {
                    Ok(()) => review.notes.push(format!(
                        "deleted the recovery file {}, which was no longer needed: {why}",
                        path.display()
                    )),
                    Err(e) => review.problems.push(format!(
                        "{} is no longer needed ({why}), but could not be deleted ({e}): delete it, and do not push it",
                        path.display()
                    )),
                }
            }
            Verdict::Unplaceable(why) => review.problems.push(format!(
                "{} holds tokens an earlier run could not confirm, and the store has changed since: {why}; check the proxy's log, then run `{} --force` if its values should still be written, or delete the file",
                path.display(),
                push_command(&path, pending.target.as_ref())
            )),
        }
    }
    review
}

/// The line for a file whose values the store may still need.
fn notice(path: &Path, pending: &Pending, why: &str) -> String {
    format!(
        "{} holds new tokens an earlier run could not confirm in the store, and {why}: run `{}` to finish it",
        path.display(),
        push_command(path, pending.target.as_ref())
    )
}
