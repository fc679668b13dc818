//! Feeds arbitrary bytes, as one datagram from the kernel, to the netlink readers: the
//! sock_diag replies the socket table is made of, and the rtnetlink links, addresses and
//! routes the interface facts are made of.
//!
//! Run (stable toolchain, nightly features unlocked):
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run netlink_messages -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::network::netlink::table_of_datagram;
use sshdoctor::collect::nic::facts_of_datagram;

fuzz_target!(|data: &[u8]| {
    let _ = table_of_datagram(data, &[22, 2222]);
    let _ = facts_of_datagram(data);
});
