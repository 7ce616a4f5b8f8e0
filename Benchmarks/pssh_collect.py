"""Collects the probe with parallel-ssh (PyPI) the way a script would: one ParallelSSHClient,
pool_size = the concurrency, stdout and stderr saved per host.

usage: pssh_collect.py HOSTS_FILE PORT USER KEY OUTDIR POOL COMMAND_FILE
"""
import os
import sys

from pssh.clients import ParallelSSHClient

hosts_file, port, user, key, outdir, pool, command_file = sys.argv[1:8]
hosts = [line.strip() for line in open(hosts_file) if line.strip()]
command = open(command_file).read()
os.makedirs(outdir, exist_ok=True)
client = ParallelSSHClient(hosts, user=user, pkey=key, port=int(port), pool_size=int(pool), num_retries=1, timeout=60)
output = client.run_command(command, stop_on_errors=False)
client.join(output)
for host_output in output:
    name = host_output.host
    if host_output.exception is not None:
        with open(os.path.join(outdir, name + ".err"), "w") as handle:
            handle.write(repr(host_output.exception))
        continue
    with open(os.path.join(outdir, name), "w") as handle:
        for line in host_output.stdout:
            handle.write(line + "\n")
    with open(os.path.join(outdir, name + ".stderr"), "w") as handle:
        for line in host_output.stderr:
            handle.write(line + "\n")
