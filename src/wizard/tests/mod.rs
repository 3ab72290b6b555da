//! In-process tests of the wizard's branches, over the doubles in `crate::testing`: each table row
//! is one operator answer (or flag) and what the step must do with it. The binary-driven stories
//! in tests/ keep what needs a real process (signals, terminals, real stores).

#![allow(
    clippy::type_complexity,
    reason = "a table row is a tuple whose fields the comment above the table names"
)]

mod choices;
mod handover;
mod store_step;
