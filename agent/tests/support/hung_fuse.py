"""A FUSE filesystem whose daemon answers the kernel's INIT and nothing after it: every
lookup, getattr or read under its mount point waits, as under a dead NFS server or a
stopped sshfs. No FUSE library: the protocol's two structures are packed by hand.

Usage: hung_fuse.py MOUNT_POINT [--unread]. The daemon reads each request and never
answers (a deadlocked daemon: its callers wait beyond SIGKILL); with --unread it reads
none after INIT (a stopped daemon, a dead NFS server: SIGKILL ends those waits). Prints
"mounted" once mounted; exits when stdin closes (its parent died), which aborts the
connection and ends every wait."""
import ctypes
import os
import select
import struct
import sys

FUSE_INIT = 26
# struct fuse_out_header: len, error, unique.
OUT_HEADER = "<IiQ"
# struct fuse_init_out (protocol 7.31): major, minor, max_readahead, flags,
# max_background, congestion_threshold, max_write, time_gran, max_pages,
# map_alignment, flags2, then reserved words.
INIT_OUT = struct.pack("<IIIIHHIIHHII24x", 7, 31, 0, 0, 0, 0, 4096, 1, 0, 0, 0, 0)

target = sys.argv[1]
unread = "--unread" in sys.argv[2:]
fuse = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
options = f"fd={fuse},rootmode=40000,user_id=0,group_id=0,allow_other".encode()
if libc.mount(b"hung", target.encode(), b"fuse.hung", 0, options) != 0:
    sys.exit(f"mount {target}: {os.strerror(ctypes.get_errno())}")
print("mounted", flush=True)
initialised = False
while True:
    watched = [sys.stdin] if unread and initialised else [fuse, sys.stdin]
    ready, _, _ = select.select(watched, [], [])
    if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
        break
    if fuse in ready:
        request = os.read(fuse, 1 << 21)
        _length, opcode, unique = struct.unpack_from("<IIQ", request)
        if opcode == FUSE_INIT:
            reply = struct.pack(OUT_HEADER, 16 + len(INIT_OUT), 0, unique) + INIT_OUT
            os.write(fuse, reply)
            initialised = True
        # Everything else is read and never answered.
