//! The verdict across families: its status, what it proves, and how each renderer
//! prints it.

mod lab_facts;
mod render;
mod status;
