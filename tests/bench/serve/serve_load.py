#!/usr/bin/env python3
"""Load benchmark for `omni-provision serve` (issue 6): N ProvisionDevice
requests from a bounded pool of concurrent clients on 127.0.0.1, each signed
with AWS Signature Version 4 (a second, independent implementation: Python's
hashlib/hmac). Prints requests per second and latency percentiles; exits
non-zero only when an answer is missing or wrong, a DeviceId repeats or the
registry is inconsistent afterwards -- never on a time."""

import argparse
import concurrent.futures
import datetime
import hashlib
import hmac
import http.client
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

REGION = "us-east-1"
SERVICE = "panorama"
ACCESS_KEY = "AKIDBENCHMARK"
SECRET_KEY = "bench/secret+" + os.urandom(8).hex()


def sign(method, path, host, body, amz_date):
    """Authorization header for a request without a query string."""
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"content-type": "application/json", "host": host, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, path, "",
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload_hash])
    scope = f"{amz_date[:8]}/{REGION}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET_KEY).encode()
    for part in (amz_date[:8], REGION, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, SignedHeaders={signed}, Signature={signature}"


def provision(port, index, start):
    host = f"127.0.0.1:{port}"
    body = json.dumps({
        "Name": f"bench-{index:05d}",
        "NetworkingConfiguration": {"Ethernet0": {"ConnectionType": "STATIC_IP", "StaticIpConnectionInfo": {
            "IpAddress": f"10.{index // 250 % 250}.{index % 250}.10", "Mask": "255.255.255.0",
            "DefaultGateway": f"10.{index // 250 % 250}.{index % 250}.1", "Dns": ["10.0.0.53"]}}},
    }).encode()
    start.wait()
    began = time.perf_counter()
    amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/devices", body, {
            "Content-Type": "application/json", "Host": host, "X-Amz-Date": amz_date,
            "Authorization": sign("POST", "/devices", host, body, amz_date)})
        response = connection.getresponse()
        payload = response.read()
        status = response.status
    except OSError as error:
        status, payload = 0, str(error).encode()
    finally:
        connection.close()
    return status, payload, time.perf_counter() - began


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cli", required=True, help="the omni-provision binary")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="omni-serve-bench-") as directory:
        subprocess.run([options.cli, "ca", "init", f"{directory}/ca"], check=True, capture_output=True)
        keys = f"{directory}/keys"
        with open(os.open(keys, os.O_WRONLY | os.O_CREAT, 0o600), "w") as file:
            file.write(f"{ACCESS_KEY} {SECRET_KEY}\n")
        database = f"{directory}/registry.sqlite"
        with open(f"{directory}/serve.log", "w") as log:
            server = subprocess.Popen([options.cli, "serve", "--listen", "127.0.0.1:0",
                                       "--ca-cert", f"{directory}/ca/issuing.pem", "--ca-key", f"{directory}/ca/issuing.key",
                                       "--chain", f"{directory}/ca/issuing.pem", "--db", database, "--credentials", keys,
                                       "--max-connections", str(max(64, options.concurrency + 16))],
                                      stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            ready, _, _ = select.select([server.stdout], [], [], 15)
            line = server.stdout.readline() if ready else ""
            if not line.startswith("listening on 127.0.0.1:"):
                print(f"serve did not start: {line!r}", file=sys.stderr)
                return 1
            port = int(line.rsplit(":", 1)[1])

            start = threading.Event()
            with concurrent.futures.ThreadPoolExecutor(max_workers=options.concurrency) as pool:
                futures = [pool.submit(provision, port, i, start) for i in range(options.requests)]
                began = time.perf_counter()
                start.set()
                results = [future.result() for future in futures]
                elapsed = time.perf_counter() - began
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

        problems = []
        statuses = {}
        for status, _, _ in results:
            statuses[status] = statuses.get(status, 0) + 1
        ids = [json.loads(payload)["DeviceId"] for status, payload, _ in results if status == 200]
        if statuses.get(200, 0) != options.requests:
            problems.append(f"answers by status: {statuses}")
        if len(set(ids)) != len(ids):
            problems.append(f"{len(ids) - len(set(ids))} duplicate DeviceIds")
        registry = sqlite3.connect(database)
        integrity = registry.execute("PRAGMA integrity_check").fetchone()[0]
        rows = registry.execute("SELECT device_id, name FROM devices").fetchall()
        registry.close()
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        if sorted(row[0] for row in rows) != sorted(ids):
            problems.append(f"registry holds {len(rows)} devices; the answers named {len(ids)}")
        if sorted(row[1] for row in rows) != [f"bench-{i:05d}" for i in range(options.requests)]:
            problems.append("registry names differ from the names requested")

        # The service's own time per request (from its log line), without queueing in the client or the kernel.
        service_times = []
        with open(f"{directory}/serve.log") as log:
            for line in log:
                if "POST /devices 200" in line and line.rstrip().endswith(" ms"):
                    service_times.append(float(line.rstrip()[:-3].rsplit(", ", 1)[1]))

        latencies = [latency * 1000 for _, _, latency in results]
        print(f"serve-load: {options.requests} ProvisionDevice requests, {options.concurrency} concurrent clients, "
              f"{os.cpu_count()} cores")
        print(f"  throughput {options.requests / elapsed:.1f} req/s ({elapsed:.2f} s)")
        print(f"  latency p50 {percentile(latencies, 0.50):.1f} ms, p90 {percentile(latencies, 0.90):.1f} ms, "
              f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms")
        if service_times:
            print(f"  in the service (request received to response queued): p50 "
                  f"{percentile(service_times, 0.50):.1f} ms, p99 {percentile(service_times, 0.99):.1f} ms")
        print(f"  registry: {len(rows)} devices, {len(set(ids))} distinct DeviceIds, integrity {integrity}")
        for problem in problems:
            print(f"  PROBLEM: {problem}")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
