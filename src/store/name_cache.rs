//! What a store has learned about its secrets by name (their KMS key, their tier), kept for the
//! rest of the run. A poisoned lock (a panic elsewhere) still gives the data: each entry is set in
//! one insert, so it is never half-updated.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub struct NameCache<T>(Mutex<HashMap<String, T>>);

impl<T> Default for NameCache<T> {
    fn default() -> Self {
        NameCache(Mutex::new(HashMap::new()))
    }
}

impl<T: Clone> NameCache<T> {
    fn entries(&self) -> MutexGuard<'_, HashMap<String, T>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn insert(&self, name: &str, value: T) {
        self.entries().insert(name.to_string(), value);
    }

    pub fn get(&self, name: &str) -> Option<T> {
        self.entries().get(name).cloned()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries().contains_key(name)
    }
}
