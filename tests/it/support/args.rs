//! Building argument lists and environments for the binary.

/// Owned arguments from string literals.
pub fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// An owned environment, borrowed the way `run_with` takes it.
pub fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `args` followed by `more`.
pub fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

/// `args` aimed at another store: `--store file --file PATH` replaced by `store` (e.g.
/// `--store aws-ssm`).
pub fn on_store(mut args: Vec<String>, store: Vec<String>) -> Vec<String> {
    let at = args.iter().position(|a| a == "--store").unwrap();
    args.splice(at..at + 4, store);
    args
}
