//! The binary as a whole: its command line, its text on a real terminal, and whole
//! diagnoses against a real sshd checked against ground truth.

mod commands;
mod deadline;
mod end_to_end;
mod terminal;
