//! SSH-NIC: the VM's own network interfaces, addresses and routes.

mod links;
