//! The verdict across families: its status, what it proves, and how each renderer
//! prints it.

mod render;
mod status;
