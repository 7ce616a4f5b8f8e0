#!/usr/bin/env python3
"""Benchmarks/profile-stages.py - assigns each perf sample of a scan to the stage of the
collector it was taken in, from its call stack (`perf record --call-graph dwarf`), and prints
ms of CPU per host per stage.

    perf script -F tid,ip,sym,dso -i perf.data | swift demangle --simplified \
      | Benchmarks/profile-stages.py --hosts N --hz HZ

A sample belongs to the first stage, in the order below, that any frame of its stack
matches: the specific stages (zstd inside the evidence writer, decryption inside the channel
reader) come before the stage that contains them.
"""
import argparse
import re
import sys

# (stage, frames that must all be on the stack: each a regular expression over a frame)
STAGES = [
    ("evidence: zstd compression", [r"^ZSTD_", r"Evidence\.encode|EvidenceFolder\.write|writeEvidence"]),
    ("store: compressing parts (zstd)", [r"^ZSTD_", r"ScanTables\.|ScanStore\.append"]),
    # Builds before the evidence moved into the scan database wrote three files per host.
    ("evidence: files (create, write, sync, rename)", [r"EvidenceFolder\.write|ScanStore\.writeEvidence"]),
    ("SSH: decompressing what the host compressed", [r"CompressedOutput"]),
    ("SSH: decryption and MACs", [r"EVP_(Decrypt|Cipher)|chacha|poly1305|aes|gcm|ghash|ossl_cipher", r"SSHSession\.execute"]),
    ("SSH: joining the output blocks", [r"OutputBuffer\.joined"]),
    ("SSH: reading the channel (libssh packets, copies)", [r"SSHSession\.execute"]),
    ("SSH: connection, key exchange, authentication", [r"SSHSession\.(establish|run|connect)|ssh_connect|ssh_userauth"]),
    ("normalize: systemd-analyze security", [r"parseSecurity(JSON|Text)|readExposure|readOfflineExposure"]),
    ("normalize: unit files (systemctl cat, resolving)", [r"readUnitFiles"]),
    ("normalize: systemctl show", [r"readServices"]),
    ("normalize: sections", [r"ProbeSections"]),
    ("normalize: other", [r"\bnormalize\(_:label:\)"]),
    ("store: deduplicating (hashing, comparing)", [r"ConfigKey|Hasher|hash\(into:\)|==", r"ScanTables\.(record|insert)|ScanStore\.append"]),
    ("store: SQLite", [r"^sqlite3|libsqlite", r"ScanTables|ScanStore"]),
    ("store: encoding and the rest", [r"ScanTables\.(record|insert)|ScanStore\.append"]),
    ("progress output", [r"ScanProgress|Console"]),
    ("scan start (known hosts, inventory, probe)", [r"KnownHosts|InventoryLoader|ScanSession\.start|NewScan|Probe\.remoteCommand"]),
]
STAGES = [(name, [re.compile(p) for p in patterns]) for name, patterns in STAGES]


def samples(stream):
    frames = []
    for line in stream:
        if line.startswith(("\t", " ")) and line.strip():
            # "\tADDR SYMBOL (DSO)": keep the symbol and the DSO
            text = line.strip().split(" ", 1)
            frames.append(text[1] if len(text) > 1 else "")
        elif line.strip() == "":
            if frames:
                yield frames
            frames = []
        else:
            if frames:
                yield frames
            frames = []
    if frames:
        yield frames


def stage_of(frames):
    for name, patterns in STAGES:
        if all(any(p.search(f) for f in frames) for p in patterns):
            return name
    leaf = frames[0] if frames else ""
    if "[kernel" in leaf:
        return "other: kernel (outside the stages above)"
    return "other"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--hz", type=float, required=True)
    args = parser.parse_args()
    counts = {}
    total = 0
    for frames in samples(sys.stdin):
        stage = stage_of(frames)
        counts[stage] = counts.get(stage, 0) + 1
        total += 1
    if total == 0:
        sys.exit("no samples")
    ms = lambda n: n / args.hz * 1000 / args.hosts
    for name, _ in STAGES:
        n = counts.pop(name, 0)
        print(f"{ms(n):8.2f} ms/host  {100 * n / total:5.1f}%  {name}")
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"{ms(n):8.2f} ms/host  {100 * n / total:5.1f}%  {name}")
    print(f"{ms(total):8.2f} ms/host  total ({total} samples)")


if __name__ == "__main__":
    main()
