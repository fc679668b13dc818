//! Cloud context: the VM's names from instance metadata, in every cloud command.

mod imds;
mod rules;
