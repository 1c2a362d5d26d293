#!/usr/bin/env python3
"""Fault-injection suite: what a storefront under steady load sees while parts of Mercato die.

Sets up, all on 127.0.0.1 on free ports: a PostgreSQL primary with a streaming replica
(scripts/postgres.sh), Redis (scripts/redis.sh), `mercato inventory-service` (behind a small delaying TCP
proxy of this script), `mercato tax-service` and two `mercato serve` instances sharing all of them. Seeds a
catalog, creates an admin token, then runs an open-loop load of the default mix (55 % listings, 35 %
details, 5 % category trees, 4 % checkouts create → address → complete, 1 % admin price/stock writes;
Zipf popularity, fixed seed) split across both instances, and injects faults one after the other, each
for a bounded time with a recovery window in between:

  redis            Redis SIGKILLed, restarted empty on the same port
  replica          the replica shut down immediately (crash, no checkpoint), then restarted
  inventory-kill   the inventory service SIGKILLed, then restarted
  inventory-slow   every call to the inventory service delayed by 2 s (by the proxy), then normal again
  api-kill         API instance B SIGKILLed, then restarted
  primary-restart  the primary stopped (fast shutdown), kept down --primary-down s, started again
  primary-crash    the primary's postmaster and all its processes SIGKILLed under load, kept down
                   --primary-down s, started again (crash recovery); both clusters run with fsync and
                   synchronous_commit on, so not one acknowledged order may be missing afterwards

For each fault it reports failed storefront reads, checkout outcomes by status (503s with and without
Retry-After), 5xx other than 503, the unit accounting per checkout variant (initial stock + restocks = on
sale + held + sold: oversold and lost units) and lost or duplicated orders (both checked in the database
with psql), stale reads after recovery (after every acknowledged admin write a freshness checker reads the
product's detail and a listing page showing it, with its price and in_stock holes, from both instances)
and the time to recover. Markdown on stdout, everything in a JSON file.
Exit status: 0 all hard invariants held, 1 one broke (a 500, an oversold or lost unit, a lost or
duplicated order, a stale read after recovery, a fault that could not be injected or lifted, a database
check that could not run), 2 the setup failed.

  scripts/faults.py [--mercato .build/release/mercato]            # every fault, about 4 minutes
  scripts/faults.py --short                                       # CI: every fault, short holds, about 2.5 minutes
  scripts/faults.py --self-test                                   # the checker alone, on made-up answers

Needs root (scripts/postgres.sh runs PostgreSQL as the postgres user), PostgreSQL and Redis installed.
Python standard library only.
"""
import argparse
import atexit
import bisect
import collections
import concurrent.futures
import datetime
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Ports other runs on this kind of machine use (CI, benchmarks, the demo server): never take them.
RESERVED_PORTS = {55432, 55433, 56379, 57432, 57379, 8080}
ALL_FAULTS = ["redis", "replica", "inventory-kill", "inventory-slow", "api-kill", "primary-restart", "primary-crash"]
SHORT_FAULTS = ALL_FAULTS  # CI runs every fault (docs/reliability.md), with --short's holds and catalog
STORE = "demo"


def log(message):
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class SetupError(Exception):
    pass


class CheckError(RuntimeError):
    """A database check could not run (psql failed): the invariants are unverified, so the run fails."""


def free_port(taken):
    """A port the kernel says is free now, never a reserved one nor one handed out before in this run."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS and port not in taken:
            taken.add(port)
            return port
    raise SetupError("no free port found")


def wait_until(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def alive(pid):
    """True while the process runs; a zombie (killed, not yet reaped by its parent) counts as dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def proc_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _proc_stat(pid):
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, ...; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def proc_ppid(pid):
    fields = _proc_stat(pid)
    return int(fields[1]) if fields else None


def proc_pgrp(pid):
    fields = _proc_stat(pid)
    return int(fields[2]) if fields else None


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------------
# HTTP


class Resp:
    __slots__ = ("status", "headers", "body", "error", "start", "end", "port")

    def __init__(self, status, headers, body, error, start, end, port):
        self.status, self.headers, self.body, self.error = status, headers, body, error
        self.start, self.end, self.port = start, end, port

    def json(self):
        try:
            return json.loads(self.body)
        except (ValueError, TypeError):
            return {}


def http_call(port, method, path, body=None, headers=None, timeout=10.0):
    """One request on its own connection; transport failures come back as `error`, never raised."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    status, hdrs, payload, error = 0, {}, b"", None
    try:
        data = json.dumps(body).encode() if body is not None else None
        h = {"Connection": "close"}
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        response = conn.getresponse()
        payload = response.read()
        status = response.status
        hdrs = {k.lower(): v for k, v in response.getheaders()}
    except ConnectionRefusedError:
        error = "refused"
    except (socket.timeout, TimeoutError):
        error = "timeout"
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, http.client.RemoteDisconnected):
        error = "reset"
    except http.client.HTTPException as e:
        error = f"http:{type(e).__name__}"
    except OSError as e:
        error = f"os:{e.errno}"
    finally:
        conn.close()
    return Resp(status, hdrs, payload, error, start, time.monotonic(), port)


class Balancer:
    """What a load balancer in front of the two instances does: round robin, and a request that could not
    even connect (nothing was sent, so it is safe for any method) goes to the other instance, which is then
    preferred for a second (passive health check). Requests that may be repeated (GET, complete with its
    Idempotency-Key) also move on after a reset or timeout."""

    def __init__(self, ports, timeout):
        self.ports = ports
        self.timeout = timeout
        self.down_until = [0.0] * len(ports)
        self.raw_errors = collections.Counter()  # (instance, error) before failover: what a bare client sees

    def send(self, prefer, method, path, body=None, headers=None, repeatable=False):
        order = [prefer % 2, (prefer + 1) % 2]
        now = time.monotonic()
        if self.down_until[order[0]] > now and self.down_until[order[1]] <= now:
            order.reverse()
        attempts = 0
        resp = None
        for inst in order:
            attempts += 1
            resp = http_call(self.ports[inst], method, path, body, headers, self.timeout)
            resp.port = inst
            if resp.error is None:
                return resp, attempts
            self.raw_errors[(inst, resp.error)] += 1
            if resp.error == "refused":
                self.down_until[inst] = time.monotonic() + 1.0
                continue
            if repeatable:
                continue
            return resp, attempts
        return resp, attempts


# ---------------------------------------------------------------------------------------------------
# A delaying TCP proxy in front of the inventory service


class DelayProxy:
    """Forwards 127.0.0.1:listen → 127.0.0.1:upstream. With `delay` > 0 every byte the API sends is held
    back that long (stamped on arrival, so a request in several segments is delayed once, not per segment),
    which makes every inventory call take `delay` longer on a live, healthy service: a real slow dependency,
    unlike SIGSTOP, which freezes it. When the upstream refuses, the client connection is reset at once
    (SO_LINGER 0), the same thing the API sees from a dead service without a proxy: a transport failure."""

    def __init__(self, listen_port, upstream_port):
        self.upstream = upstream_port
        self.delay = 0.0
        self.stopped = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", listen_port))
        self.sock.listen(128)
        self.sock.settimeout(0.5)
        self.conns = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _reset(s):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()

    def _serve(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
        except OSError:
            self._reset(client)
            return
        upstream.settimeout(None)
        client.settimeout(None)
        with self.lock:
            self.conns.add(client)
            self.conns.add(upstream)
        queue = collections.deque()
        ready = threading.Condition()
        done = threading.Event()

        def read_client():
            while True:
                try:
                    data = client.recv(65536)
                except OSError:
                    data = b""
                with ready:
                    queue.append((time.monotonic() + self.delay, data))
                    ready.notify()
                if not data:
                    return

        def write_upstream():
            while not done.is_set():
                with ready:
                    while not queue:
                        ready.wait(0.5)
                        if done.is_set():
                            return
                    due, data = queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    try:
                        upstream.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                try:
                    upstream.sendall(data)
                except OSError:
                    return

        def read_upstream():
            while True:
                try:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
                except OSError:
                    break
            done.set()
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            with self.lock:
                self.conns.discard(client)
                self.conns.discard(upstream)

        threading.Thread(target=read_client, daemon=True).start()
        threading.Thread(target=write_upstream, daemon=True).start()
        read_upstream()

    def close(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.close()
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------------
# The system under test


class Stack:
    """Every process of the run; `close` stops all of them (also after an error half-way through setup)."""

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.logdir = os.path.join(workdir, "logs")
        os.makedirs(self.logdir, exist_ok=True)
        self.procs = {}  # name -> Popen (each in its own process group)
        self.pg_dirs = []
        self.redis_dir = None
        self.proxy = None
        taken = set()
        self.pg_port, self.replica_port, self.redis_port = free_port(taken), free_port(taken), free_port(taken)
        self.inventory_port, self.proxy_port, self.tax_port = free_port(taken), free_port(taken), free_port(taken)
        self.api_ports = [free_port(taken), free_port(taken)]
        self.primary_dir = os.path.join(workdir, "pg-primary")
        self.replica_dir = os.path.join(workdir, "pg-replica")
        self.redis_dir = os.path.join(workdir, "redis")
        self.db_url = f"postgres://postgres@127.0.0.1:{self.pg_port}/mercato"
        self.replica_url = f"postgres://postgres@127.0.0.1:{self.replica_port}/mercato"
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}"
        self.token = None
        self.durability = None  # the primary's fsync / synchronous_commit / full_page_writes, read back at setup
        self.closed = False

    # -- helpers

    def script(self, name, *argv, env=None, timeout=120):
        logf = os.path.join(self.logdir, "setup.log")
        with open(logf, "a") as err:
            e = dict(os.environ)
            e.update(env or {})
            out = subprocess.run(["bash", os.path.join(REPO, "scripts", name), *argv], stdout=subprocess.PIPE,
                                 stderr=err, env=e, timeout=timeout, text=True)
        if out.returncode != 0:
            raise SetupError(f"scripts/{name} {' '.join(argv)} failed ({out.returncode}); see {logf}")
        return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""

    def mercato(self, *argv, timeout=300):
        out = subprocess.run([self.args.mercato, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=timeout, text=True, env=self.base_env())
        if out.returncode != 0:
            raise SetupError(f"mercato {' '.join(argv)} failed: {out.stderr[-2000:]}")
        return out.stdout

    def base_env(self):
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("MERCATO_") or k in ("DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "INVENTORY_URL", "TAX_URL"):
                del e[k]
        return e

    def spawn(self, name, argv, env):
        logf = open(os.path.join(self.logdir, f"{name}.log"), "ab")
        logf.write(f"\n==== faults.py: start {name} at {datetime.datetime.now(datetime.timezone.utc).isoformat()}\n".encode())
        logf.flush()
        e = self.base_env()
        e.update(env)
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env=e, start_new_session=True,
                                cwd=self.workdir)
        logf.close()
        self.procs[name] = proc
        return proc

    def kill(self, name, sig=signal.SIGKILL, wait=10):
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)

    def psql(self, sql, timeout=30):
        out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                              "-p", str(self.pg_port), "-U", "postgres", "-d", "mercato", "-c", sql],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        if out.returncode != 0:
            raise CheckError(f"psql on 127.0.0.1:{self.pg_port} failed: {out.stderr.strip()}")
        return [line.split("\x1f") for line in out.stdout.splitlines() if line]

    # -- components

    # Both clusters are always durable (fsync and synchronous_commit on), whatever CI/POSTGRES_FAST say in the
    # caller's environment (.ci/run exports POSTGRES_FAST=1 for the test phase's cluster): primary-crash checks
    # that no acknowledged order is lost, which only durable commits promise. PG_REPLICATION=1 on every start:
    # the script rewrites the config each time, and the replica needs WAL senders.
    PG_ENV = {"PG_REPLICATION": "1", "POSTGRES_FAST": "0"}

    def start_postgres(self):
        self.pg_dirs = [self.replica_dir, self.primary_dir]
        self.script("postgres.sh", "start", self.primary_dir, str(self.pg_port), env=self.PG_ENV)
        self.durability = self.check_durable()
        self.script("postgres.sh", "replica", self.replica_dir, str(self.replica_port), str(self.pg_port), env=self.PG_ENV)

    def check_durable(self):
        """The primary's commit settings, read back from the server; a setup error unless they are durable."""
        try:
            rows = self.psql("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')")
        except CheckError as e:  # during setup: a setup failure (exit 2), not a broken invariant
            raise SetupError(f"could not read the primary's commit settings: {e}")
        settings = {name: value for name, value in rows}
        if settings.get("fsync") != "on" or settings.get("synchronous_commit") != "on":
            raise SetupError(f"the primary is not durable ({settings}); the suite needs fsync and synchronous_commit on")
        return settings

    def start_replica(self):
        self.script("postgres.sh", "replica", self.replica_dir, str(self.replica_port), str(self.pg_port), env=self.PG_ENV)

    def kill_replica(self):
        self.script("postgres.sh", "kill", self.replica_dir)

    def stop_primary(self):
        self.script("postgres.sh", "stop", self.primary_dir)

    def start_primary(self):
        self.script("postgres.sh", "start", self.primary_dir, str(self.pg_port), env=self.PG_ENV)

    def crash_primary(self, timeout=10):
        """SIGKILL the primary's postmaster and every process it started, together: no backend gets to finish a
        statement, flush WAL or write a checkpoint, so only what was flushed before the signal survives.
        Killing the postmaster alone would not do: each child calls setsid() and lives on, in its own process
        group, until it notices the postmaster is gone (a backend may still commit meanwhile). So the
        postmaster is first stopped (SIGSTOP: it can fork no more), then it and each of its children's process
        groups get SIGKILL. Returns the number of processes killed, once none of them is alive any more."""
        pid_file = os.path.join(self.primary_dir, "data", "postmaster.pid")
        try:
            with open(pid_file) as f:
                pid = int(f.readline().strip())
        except (OSError, ValueError) as e:
            raise RuntimeError(f"primary-crash: cannot read the postmaster's pid from {pid_file}: {e}")
        if not alive(pid):
            raise RuntimeError(f"primary-crash: the postmaster (pid {pid} in {pid_file}) is not running")
        os.kill(pid, signal.SIGSTOP)
        children = [p for p in proc_pids() if proc_ppid(p) == pid]
        victims = [pid] + children
        for p in victims:
            try:
                if proc_pgrp(p) == p:
                    os.killpg(p, signal.SIGKILL)
                else:
                    os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if not wait_until(lambda: not any(alive(p) for p in victims), timeout, 0.02):
            raise RuntimeError(f"primary-crash: processes {[p for p in victims if alive(p)]} still alive {timeout} s after SIGKILL")
        return len(victims)

    def start_redis(self):
        self.script("redis.sh", "start", str(self.redis_port), self.redis_dir)

    def redis_pid(self):
        try:
            with open(os.path.join(self.redis_dir, "redis.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def kill_redis(self):
        pid = self.redis_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_until(lambda: not alive(pid), 5, 0.02)

    def seed(self, products):
        log(f"seeding 2 merchants x {products} products")
        self.mercato("seed", "--database-url", self.db_url, "--merchants", "2", "--products-per-merchant",
                     str(products), "--seed", str(self.args.seed))
        self.token = self.mercato("token", "create", "--database-url", self.db_url, "--merchant", STORE).strip().splitlines()[-1]

    def start_tax(self):
        self.spawn("tax", [self.args.mercato, "tax-service", "--port", str(self.tax_port)], {})
        if not wait_until(lambda: port_open(self.tax_port), 30):
            raise SetupError("tax service did not listen")

    def start_inventory(self):
        self.spawn("inventory", [self.args.mercato, "inventory-service", "--port", str(self.inventory_port)],
                   {"DATABASE_URL": self.db_url, "REDIS_URL": self.redis_url, "LOG_FORMAT": "json"})
        return wait_until(lambda: port_open(self.inventory_port), 30)

    def api_env(self, index):
        return {
            "DATABASE_URL": self.db_url, "DATABASE_REPLICA_URLS": self.replica_url, "REDIS_URL": self.redis_url,
            "INVENTORY_URL": f"http://127.0.0.1:{self.proxy_port}", "TAX_URL": f"http://127.0.0.1:{self.tax_port}",
            "MERCATO_SEED_DEMO": "never", "MERCATO_DATA_DIR": os.path.join(self.workdir, f"api-{index}"),
            "LOG_FORMAT": "json", "MERCATO_HOST": "127.0.0.1", "MERCATO_PORT": str(self.api_ports[index]),
        }

    def start_api(self, index, timeout=60):
        name = "api-" + "AB"[index]
        self.spawn(name, [self.args.mercato, "serve", "--port", str(self.api_ports[index])], self.api_env(index))
        port = self.api_ports[index]
        return wait_until(lambda: http_call(port, "GET", "/ready", timeout=2).status == 200, timeout, 0.2)

    def setup(self, products):
        log(f"work dir {self.workdir}")
        self.start_postgres()
        self.start_redis()
        self.seed(products)
        self.start_tax()
        if not self.start_inventory():
            raise SetupError("inventory service did not listen")
        self.proxy = DelayProxy(self.proxy_port, self.inventory_port)
        for i in (0, 1):
            if not self.start_api(i):
                raise SetupError(f"API instance {'AB'[i]} not ready; see {self.logdir}")
        log(f"stack up: API {self.api_ports}, PG {self.pg_port} (replica {self.replica_port}), Redis {self.redis_port}, "
            f"inventory {self.inventory_port} via proxy {self.proxy_port}, tax {self.tax_port}")

    def close(self):
        if self.closed:
            return
        self.closed = True
        for name in list(self.procs):
            try:
                self.kill(name, signal.SIGTERM, wait=5)
            except Exception as e:  # keep stopping the rest
                log(f"stopping {name}: {e}")
        if self.proxy:
            self.proxy.close()
        if self.redis_dir and os.path.exists(os.path.join(self.redis_dir, "redis.pid")):
            try:
                self.script("redis.sh", "stop", self.redis_dir, timeout=30)
            except Exception as e:
                log(f"stopping redis: {e}")
                self.kill_redis()
        for d in self.pg_dirs:
            try:
                self.script("postgres.sh", "stop", d, timeout=90)
            except Exception as e:
                log(f"stopping PostgreSQL in {d}: {e}; killing it")
                try:
                    self.script("postgres.sh", "kill", d, timeout=60)
                except Exception as e2:
                    log(f"killing PostgreSQL in {d}: {e2}")


# ---------------------------------------------------------------------------------------------------
# Workload


class Zipf:
    def __init__(self, n, s=0.99):
        self.cdf = []
        total = 0.0
        for k in range(n):
            total += 1.0 / (k + 1) ** s
            self.cdf.append(total)
        self.total = total

    def sample(self, rng):
        return min(len(self.cdf) - 1, bisect.bisect_left(self.cdf, rng.random() * self.total))


SORTS = ["position", "price_asc", "price_desc", "newest", "bestselling"]
MIX = [("listing", 55), ("detail", 35), ("categories", 5), ("checkout", 4), ("write", 1)]


class Catalog:
    """What the load draws from, discovered through the public API: categories, products (listing order,
    which is also the popularity order), checkout variants (hot products; their stock is set here and never
    written again, so units can be accounted for) and write products (disjoint from those)."""

    def discover(self, port, token, checkout_variants, scarce, write_products, timeout):
        r = http_call(port, "GET", f"/v1/stores/{STORE}/categories", timeout=timeout)
        if r.status != 200:
            raise SetupError(f"categories answered {r.status}")
        self.categories = []

        def walk(nodes):
            for node in nodes:
                self.categories.append(node["slug"])
                walk(node.get("children") or [])
        walk(r.json().get("categories", []))
        self.products = []
        cursor = None
        for _ in range(200):
            path = f"/v1/stores/{STORE}/products?limit=100&sort=position" + (f"&cursor={cursor}" if cursor else "")
            r = http_call(port, "GET", path, timeout=timeout)
            if r.status != 200:
                raise SetupError(f"{path} answered {r.status}")
            page = r.json()
            self.products += [item["id"] for item in page.get("items", [])]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        need = checkout_variants + write_products
        if len(self.products) < need + 10:
            raise SetupError(f"only {len(self.products)} products listed; seed more")
        auth = {"Authorization": f"Bearer {token}"}
        # Checkout variants: the first variant of the most popular products. `scarce` of them get little
        # stock so they sell out under load (the oversell race); the rest plenty, so checkouts keep working.
        self.checkout_variants = []  # dicts: id, product, initial
        for index, product in enumerate(self.products[:checkout_variants]):
            detail = http_call(port, "GET", f"/v1/stores/{STORE}/products/{product}", timeout=timeout).json()
            variant = detail["variants"][0]
            # Ranks 4.. rather than the very top: they sell out within a minute or two, and the hottest variants
            # keep checkouts flowing through every fault after that.
            initial = 15 if 4 <= index < 4 + scarce else 100_000
            self._admin_put(port, auth, f"/v1/admin/variants/{variant['id']}/stock", {"quantity": initial}, timeout)
            self.checkout_variants.append({"id": variant["id"], "product": product, "initial": initial})
        self.restocks = {}  # variant id -> units added after `initial` (none: a stock PUT sets an absolute level)
        # Write products: the next ranks (popular enough to be read and cached by the load too). The first
        # variant is written; the product's other variants get stock 0 here and are never written again, so
        # the listing's `in_stock` hole follows the written variant alone, and price writes stay below the other
        # variants' cheapest price, so the listing's `price` hole (the product's cheapest price) moves with them.
        self.write_targets = []
        for product in self.products[checkout_variants:checkout_variants + write_products]:
            detail = http_call(port, "GET", f"/v1/stores/{STORE}/products/{product}", timeout=timeout).json()
            variant = detail["variants"][0]
            currency = variant["price"]["currency"]
            others = detail["variants"][1:]
            for other in others:
                if other.get("stock", 0) != 0:
                    self._admin_put(port, auth, f"/v1/admin/variants/{other['id']}/stock", {"quantity": 0}, timeout)
            prices = [o["price"]["amount"] for o in others if (o.get("price") or {}).get("currency") == currency]
            self.write_targets.append({"product": product, "variant": variant["id"], "currency": currency,
                                       "others_min_price": min(prices) if prices else None, "others_in_stock": False,
                                       "listing": None, "lock": threading.Lock()})
        self._find_listings(port, timeout)
        return self

    @staticmethod
    def _admin_put(port, auth, path, body, timeout):
        """A setup write, waiting out the admin write rate limit (429 + Retry-After)."""
        for _ in range(20):
            r = http_call(port, "PUT", path, body, auth, timeout)
            if r.status == 200:
                return r
            if r.status != 429:
                raise SetupError(f"PUT {path} answered {r.status or r.error}: {r.body[:300]!r}")
            time.sleep(float(r.headers.get("retry-after", "1") or 1))
        raise SetupError(f"PUT {path}: still rate-limited")

    def _find_listings(self, port, timeout):
        """For each write target, a listing page that shows it, read by the freshness checker: its category's
        first page as the load asks for it (limit 24, by position), else that category's first 100, else the
        whole store's first 100 by position (the write targets are ranks 21-60 of that order). Sorted by
        position, so neither a price nor a stock write moves the product off the page."""
        wanted = {t["product"]: t for t in self.write_targets}
        candidates = [(f"/v1/stores/{STORE}/products?limit=24&sort=position&category={c}", c) for c in self.categories]
        candidates += [(f"/v1/stores/{STORE}/products?limit=100&sort=position&category={c}", c) for c in self.categories]
        candidates.append((f"/v1/stores/{STORE}/products?limit=100&sort=position", None))
        for path, category in candidates:
            if all(t["listing"] for t in self.write_targets):
                break
            r = http_call(port, "GET", path, timeout=timeout)
            if r.status != 200:
                raise SetupError(f"{path} answered {r.status or r.error}")
            for item in r.json().get("items", []):
                t = wanted.get(item.get("id"))
                if t is not None and t["listing"] is None:
                    t["listing"] = path
                    t["listing_category"] = category
        missing = [t["product"] for t in self.write_targets if not t["listing"]]
        if missing:
            raise SetupError(f"no listing page shows write targets {missing[:3]}")


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []        # one dict per operation
        self.requests = []   # one dict per request (after failover)
        self.fresh = []      # one dict per freshness check
        self.acked = []      # acknowledged orders: (order id, checkout id, op time)
        self.unresolved = []  # completes whose outcome stayed unknown: retried at the end
        self.evidence = []   # 5xx other than 503, 503 without Retry-After, checkout anomalies
        self.dropped = 0

    def request(self, t0, kind, step, resp, attempts, method, path):
        entry = {"t": resp.start - t0, "ms": (resp.end - resp.start) * 1000, "kind": kind, "step": step,
                 "status": resp.status, "error": resp.error, "retry_after": resp.headers.get("retry-after"),
                 "instance": "AB"[resp.port] if isinstance(resp.port, int) and resp.port < 2 else "?", "attempts": attempts,
                 "path": path}
        # Evidence: every 5xx but a 503 with Retry-After, and every request that hit the client timeout (a hang).
        bad = (resp.status >= 500 and not (resp.status == 503 and resp.headers.get("retry-after"))) or resp.error == "timeout"
        if bad:
            entry_ev = dict(entry, method=method, path=path, body=resp.body[:600].decode("utf-8", "replace"),
                            wall=datetime.datetime.now(datetime.timezone.utc).isoformat())
            with self.lock:
                self.evidence.append(entry_ev)
        with self.lock:
            self.requests.append(entry)
        return entry


class Load:
    def __init__(self, args, stack, catalog, recorder, balancer):
        self.args, self.stack, self.catalog, self.rec, self.lb = args, stack, catalog, recorder, balancer
        self.stop = threading.Event()   # no new operations
        self.abort = threading.Event()  # Ctrl-C or error: in-flight operations give up their loops too
        self.inflight = 0
        self.lock = threading.Lock()
        self.t0 = None
        self.write_seq = 0
        self.steps_in_flight = collections.Counter()  # requests sent and not yet answered, by step
        self.auth = {"Authorization": f"Bearer {stack.token}"}
        self.zipf_cat = Zipf(len(catalog.categories) + 1)
        self.zipf_prod = Zipf(len(catalog.products))
        self.zipf_var = Zipf(len(catalog.checkout_variants))
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.max_inflight, thread_name_prefix="op")

    def now(self):
        return time.monotonic() - self.t0

    def generate(self, rng, index):
        roll = rng.random() * 100
        acc = 0
        kind = MIX[-1][0]
        for name, weight in MIX:
            acc += weight
            if roll < acc:
                kind = name
                break
        op = {"i": index, "kind": kind, "inst": index % 2}
        if kind == "listing":
            rank = self.zipf_cat.sample(rng)
            op["path"] = f"/v1/stores/{STORE}/products?limit=24&sort={rng.choice(SORTS)}" + (
                f"&category={self.catalog.categories[rank - 1]}" if rank else "")
            op["follow"] = rng.random() < 0.2
        elif kind == "detail":
            op["path"] = f"/v1/stores/{STORE}/products/{self.catalog.products[self.zipf_prod.sample(rng)]}"
        elif kind == "categories":
            op["path"] = f"/v1/stores/{STORE}/categories"
        elif kind == "checkout":
            lines = {}
            for _ in range(1 if rng.random() < 0.75 else 2):
                v = self.catalog.checkout_variants[self.zipf_var.sample(rng)]["id"]
                lines[v] = lines.get(v, 0) + rng.randint(1, 2)
            op["lines"] = [{"variant_id": v, "quantity": q} for v, q in lines.items()]
            op["key"] = f"faults-{self.args.seed}-{index}"
        else:
            op["price"] = rng.random() < 0.5
            op["target"] = rng.randrange(len(self.catalog.write_targets))
        return op

    def run(self, seconds_hint):
        """Schedules operations at a fixed rate until `stop`; each one's latency counts from its slot."""
        rng = random.Random(self.args.seed)
        self.t0 = time.monotonic()
        index = 0
        limit = int(self.args.rate * (seconds_hint + 600))  # bounded even if stop never came
        while not self.stop.is_set() and index < limit:
            slot = self.t0 + index / self.args.rate
            delay = slot - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            op = self.generate(rng, index)
            op["t"] = slot - self.t0
            index += 1
            with self.lock:
                if self.inflight >= self.args.max_inflight:
                    self.rec.dropped += 1
                    op.update(ok=False, dropped=True, end=op["t"])
                    self.rec.ops.append(op)
                    continue
                self.inflight += 1
            self.pool.submit(self._execute, op)

    def _execute(self, op):
        try:
            getattr(self, "op_" + op["kind"])(op)
        except Exception as e:  # a bug here must not kill the load; it is reported
            op["ok"] = False
            op["exception"] = repr(e)
        finally:
            op["end"] = self.now()
            with self.lock:
                self.inflight -= 1
                self.rec.ops.append(op)

    def send(self, op, kind, step, method, path, body=None, headers=None, repeatable=False, prefer=None):
        with self.lock:
            self.steps_in_flight[step] += 1
        try:
            resp, attempts = self.lb.send(op["inst"] if prefer is None else prefer, method, path, body, headers, repeatable)
        finally:
            with self.lock:
                self.steps_in_flight[step] -= 1
        self.rec.request(self.t0, kind, step, resp, attempts, method, path)
        return resp

    def in_flight(self, step):
        with self.lock:
            return self.steps_in_flight[step]

    def op_listing(self, op):
        r = self.send(op, "read", "listing", "GET", op["path"], repeatable=True)
        op["ok"] = r.status == 200
        if op["ok"] and op.get("follow"):
            cursor = r.json().get("next_cursor")
            if cursor:
                r2 = self.send(op, "read", "listing", "GET", f"{op['path']}&cursor={cursor}", repeatable=True)
                op["ok"] = r2.status == 200

    def op_detail(self, op):
        op["ok"] = self.send(op, "read", "detail", "GET", op["path"], repeatable=True).status == 200

    def op_categories(self, op):
        op["ok"] = self.send(op, "read", "categories", "GET", op["path"], repeatable=True).status == 200

    def op_checkout(self, op):
        created = self.send(op, "checkout", "create", "POST", f"/v1/stores/{STORE}/checkouts",
                            {"email": "faults@example.com", "lines": op["lines"]})
        op["create"] = created.status or created.error
        # 409 insufficient-stock is a correct answer (the scarce variants sell out), not a failure.
        if created.status != 201:
            op["ok"] = created.status == 409
            return
        c = created.json()
        op["checkout"] = c.get("id")
        token = {"X-Checkout-Token": c.get("token", "")}
        address = {"name": "Fault Tester", "line1": "1 Chaos Street", "city": "Berlin", "postal_code": "10117",
                   "country": c.get("market", "DE")}
        r = None
        for attempt in range(3):  # the address PUT is idempotent: a client may repeat it
            r = self.send(op, "checkout", "address", "PUT", f"/v1/checkouts/{c['id']}/shipping-address", address, token,
                          repeatable=True, prefer=op["inst"] + attempt)
            if r.status == 200 or (r.status and r.status != 503):
                break
            time.sleep(self.retry_after(r))
        op["address"] = r.status or r.error
        if r.status != 200:
            op["ok"] = False
            return
        headers = dict(token)
        headers["Idempotency-Key"] = op["key"]
        statuses = []
        order = None
        for attempt in range(4):  # a client retries complete with the same key until it has an answer
            if attempt and self.abort.is_set():
                break
            r = self.send(op, "checkout", "complete", "POST", f"/v1/checkouts/{c['id']}/complete", None, headers,
                          repeatable=True, prefer=op["inst"] + attempt)
            statuses.append(r.status or r.error)
            if r.status == 201:
                order = r.json().get("id")
                break
            if r.status and r.status != 503:
                break
            time.sleep(self.retry_after(r))
        op["complete"] = statuses
        if order:
            with self.rec.lock:
                self.rec.acked.append({"order": order, "checkout": c["id"], "t": op["t"], "lines": op["lines"]})
            op["ok"] = len(statuses) == 1
        else:
            op["ok"] = False
            if not statuses or not isinstance(statuses[-1], int) or statuses[-1] == 503:
                with self.rec.lock:
                    self.rec.unresolved.append({"checkout": c["id"], "headers": headers, "t": op["t"], "lines": op["lines"]})

    @staticmethod
    def retry_after(r):
        try:
            return min(2.0, max(0.2, float(r.headers.get("retry-after", "0.5"))))
        except ValueError:
            return 0.5

    def op_write(self, op):
        """An admin write, then the freshness check: both instances must show the new value."""
        targets = self.catalog.write_targets
        target = None
        for k in range(len(targets)):  # one write in flight per variant, so "new value" is unambiguous
            candidate = targets[(op["target"] + k) % len(targets)]
            if candidate["lock"].acquire(blocking=False):
                target = candidate
                break
        if target is None:
            op["ok"] = False
            op["skipped"] = True
            return
        try:
            self._write_and_check(op, target)
        finally:
            target["lock"].release()

    def _write_and_check(self, op, target):
        detail_path = f"/v1/stores/{STORE}/products/{target['product']}"
        listing_path = target["listing"]
        price = op["price"]
        kind = "price" if price else "stock"
        # Warm both instances first (detail and the listing page that shows the product), so there are cached
        # answers that the write has to invalidate or refill.
        current = None
        listing_before = None
        for inst in (0, 1):
            r = http_call(self.stack.api_ports[inst], "GET", detail_path, timeout=self.args.timeout)
            if current is None:
                current = detail_value(r.status, r.json() if r.status == 200 else None, target["variant"], kind)
            r = http_call(self.stack.api_ports[inst], "GET", listing_path, timeout=self.args.timeout)
            if listing_before is None:
                listing_before = listing_value(r.status, r.json() if r.status == 200 else None, target["product"], kind)
        with self.lock:
            self.write_seq += 1
            seq = self.write_seq
        value = write_value(kind, seq, current, target["others_min_price"])
        if price:
            r = self.send(op, "write", "price", "PUT", f"/v1/admin/variants/{target['variant']}/price",
                          {"currency": target["currency"], "amount": value}, self.auth)
        else:
            r = self.send(op, "write", "stock", "PUT", f"/v1/admin/variants/{target['variant']}/stock",
                          {"quantity": value}, self.auth)
        op["write"] = r.status or r.error
        op["ok"] = r.status == 200
        if r.status != 200:
            return
        acked = self.now()
        expected = {"detail": value, "listing": expected_listing(kind, value, target)}
        check = {"t": acked, "kind": kind, "product": target["product"], "value": value, "expected": expected,
                 "listing_path": listing_path, "listing_before": listing_before,
                 # The write changed what the listing shows: a listing read can tell old from new.
                 "listing_moved": listing_before is not ABSENT and listing_before != expected["listing"],
                 "instances": {}}
        deadline = time.monotonic() + self.args.fresh_deadline
        views = {"detail": (detail_path, lambda st, body: detail_value(st, body, target["variant"], kind)),
                 "listing": (listing_path, lambda st, body: listing_value(st, body, target["product"], kind))}
        for inst in (0, 1):
            name = "AB"[inst]
            state = {v: {"reads": [], "fresh_at": None} for v in views}
            while time.monotonic() < deadline and not self.abort.is_set():
                pending = [v for v in views if state[v]["fresh_at"] is None]
                if not pending:
                    break
                for v in pending:
                    path, read = views[v]
                    start = self.now()
                    rr = http_call(self.stack.api_ports[inst], "GET", path, timeout=self.args.timeout)
                    if rr.status != 200:
                        continue
                    seen = read(rr.status, rr.json())
                    if seen == expected[v]:
                        state[v]["fresh_at"] = start
                    else:
                        state[v]["reads"].append({"t": start, "seen": seen})
                if all(state[v]["fresh_at"] is not None for v in views):
                    break
                # Read soon after the write (that is when staleness shows), then back off.
                time.sleep(0.05 if self.now() - acked < 1 else 0.25)
            for v in views:
                fresh_at = state[v]["fresh_at"]
                check["instances"][name if v == "detail" else f"{name} listing"] = {
                    "instance": name, "view": v,
                    "lag_ms": None if fresh_at is None else round((fresh_at - acked) * 1000, 1),
                    "stale_reads": state[v]["reads"]}
        with self.rec.lock:
            self.rec.fresh.append(check)


# ---------------------------------------------------------------------------------------------------
# The freshness comparison (pure functions, so --self-test can feed them made-up answers)

ABSENT = "absent"  # a 200 listing page that does not show the product


def detail_value(status, body, variant, kind):
    """The written variant's price amount (kind "price") or stock (kind "stock") in a product detail."""
    if status != 200 or not isinstance(body, dict):
        return None
    for v in body.get("variants") or []:
        if v.get("id") == variant:
            return (v.get("price") or {}).get("amount") if kind == "price" else v.get("stock")
    return ABSENT


def listing_value(status, body, product, kind):
    """The holes of the product's item on a listing page: its price amount (the product's cheapest price) for a
    price write, its in_stock for a stock write; ABSENT when the page does not show it."""
    if status != 200 or not isinstance(body, dict):
        return None
    for item in body.get("items") or []:
        if item.get("id") == product:
            return (item.get("price") or {}).get("amount") if kind == "price" else item.get("in_stock")
    return ABSENT


def expected_listing(kind, value, target):
    """What the listing must show once the write is visible: the cheapest of the written price and the other
    variants' prices; in stock when the written level or another variant's is above zero."""
    if kind == "price":
        others = target.get("others_min_price")
        return value if others is None else min(value, others)
    return value > 0 or bool(target.get("others_in_stock"))


def write_value(kind, seq, current, others_min_price):
    """The value of the seq-th admin write: different from the current one, and such that the listing shows
    the change. A price below the other variants' cheapest; every third stock write of a level above zero is
    0 (the `in_stock` hole flips, and the in_stock=true pages' membership with it), else back above zero."""
    if kind == "price":
        hi = 91_000 if others_min_price is None else others_min_price - 1
        lo = max(1, min(1_000, hi // 2))
        value = lo + seq * 7919 % max(1, hi - lo + 1)
        if value == current:
            value = value - 1 if value > lo else value + 1
        return value
    if current and seq % 3 == 0:
        return 0
    value = 100 + seq * 37 % 800
    return value + 1 if value == current else value


# ---------------------------------------------------------------------------------------------------
# Faults


class Faults:
    def __init__(self, args, stack, load):
        self.args, self.stack, self.load = args, stack, load

    def prepare(self, name, timeout=5.0):
        """Before the window opens: primary-crash waits (polling, at most `timeout` s) until a checkout
        `complete` is in flight, so the SIGKILL lands while an order may be committing."""
        if name != "primary-crash":
            return None
        if wait_until(lambda: self.load.in_flight("complete") > 0, timeout, 0.002):
            return "a complete was in flight"
        return f"no complete in flight within {timeout:.0f} s; crashed anyway"

    def inject(self, name):
        s = self.stack
        if name == "redis":
            s.kill_redis()
        elif name == "replica":
            s.kill_replica()
        elif name == "inventory-kill":
            s.kill("inventory")
        elif name == "inventory-slow":
            s.proxy.delay = self.args.slow
        elif name == "api-kill":
            s.kill("api-B")
        elif name == "primary-restart":
            s.stop_primary()
        elif name == "primary-crash":
            return f"{s.crash_primary()} processes SIGKILLed"
        else:
            raise ValueError(name)

    def lift(self, name):
        s = self.stack
        if name == "redis":
            s.start_redis()
        elif name == "replica":
            s.start_replica()
        elif name == "inventory-kill":
            if not s.start_inventory():
                raise RuntimeError("inventory service did not come back")
        elif name == "inventory-slow":
            s.proxy.delay = 0.0
        elif name == "api-kill":
            if not s.start_api(1):
                raise RuntimeError("API instance B did not come back")
        elif name in ("primary-restart", "primary-crash"):
            s.start_primary()  # after a crash: crash recovery from the WAL, then ready

    def hold(self, name):
        return self.args.primary_down if name in ("primary-restart", "primary-crash") else self.args.hold


DESCRIPTIONS = {
    "redis": "Redis SIGKILLed, restarted (empty) on the same port",
    "replica": "replica: immediate shutdown (crash), then restarted",
    "inventory-kill": "inventory service SIGKILLed, then restarted",
    "inventory-slow": "every inventory call delayed 2 s (TCP proxy)",
    "api-kill": "API instance B SIGKILLed, then restarted",
    "primary-restart": "primary: fast shutdown, down, started again",
    "primary-crash": "primary: postmaster and every backend SIGKILLed (durable commits), down, started again (crash recovery)",
}


# ---------------------------------------------------------------------------------------------------
# Database checks


def db_units(stack, catalog):
    """Per checkout variant, in one statement (one snapshot): stock, units held and committed by reservations."""
    ids = ",".join(f"'{v['id']}'" for v in catalog.checkout_variants)
    rows = stack.psql(f"""
        SELECT v.id, v.stock,
          COALESCE((SELECT sum(rl.quantity) FROM reservation_lines rl JOIN reservations r
                    ON r.merchant_id = rl.merchant_id AND r.id = rl.reservation_id
                    WHERE rl.variant_id = v.id AND r.status = 'held'), 0),
          COALESCE((SELECT sum(rl.quantity) FROM reservation_lines rl JOIN reservations r
                    ON r.merchant_id = rl.merchant_id AND r.id = rl.reservation_id
                    WHERE rl.variant_id = v.id AND r.status = 'committed'), 0),
          (SELECT count(*) FROM variants WHERE stock < 0)
        FROM variants v WHERE v.id IN ({ids})""")
    # The suite never restocks a checkout variant: a stock PUT sets an absolute level, which would race with
    # the reservations and make the units unaccountable. The accounting takes restocks all the same.
    return account_units({v["id"]: v["initial"] for v in catalog.checkout_variants}, catalog.restocks, rows)


def account_units(initial, restocks, rows):
    """Unit accounting per tracked variant: initial + restocks = stock now + held (open reservations) + sold
    (committed reservations). rows: (variant id, stock, held, committed, variants with negative stock), as
    db_units reads them in one snapshot. A negative difference (more on the shelf, held or sold than ever
    existed), committed units above what existed, or negative stock anywhere is overselling; a positive
    difference is units lost: neither on sale, held nor sold. Both break the run (unit_violations)."""
    result = {"negative_stock_variants": int(rows[0][4]) if rows else 0, "variants": {}, "oversold_units": 0,
              "unaccounted_units": 0, "lost_by_variant": {}, "oversold_by_variant": {},
              "missing_variants": sorted(set(initial) - {r[0] for r in rows})}
    for vid, stock, held, committed, _ in rows:
        stock, held, committed = int(stock), int(held), int(committed)
        supplied = initial[vid] + restocks.get(vid, 0)
        delta = supplied - (stock + held + committed)  # 0: every unit is on the shelf, held or sold
        result["variants"][vid] = {"initial": initial[vid], "restocked": restocks.get(vid, 0), "stock": stock, "held": held,
                                   "committed": committed, "delta": delta}
        # Sold or promised beyond what existed: units were created from nothing.
        over = max(0, -delta) + max(0, committed - supplied)
        if over:
            result["oversold_by_variant"][vid] = over
        result["oversold_units"] += over
        if delta > 0:
            result["lost_by_variant"][vid] = delta
        result["unaccounted_units"] += max(0, delta)
    result["oversold_units"] += result["negative_stock_variants"]
    return result


def unit_violations(units, expected_variants, where="at the end"):
    """The hard invariants of the unit accounting, as messages (empty: held)."""
    out = []
    if units["oversold_units"]:
        out.append(f"{units['oversold_units']} oversold units {where} ({units['oversold_by_variant']}, "
                   f"{units['negative_stock_variants']} variants with negative stock)")
    if units["unaccounted_units"]:
        out.append(f"{units['unaccounted_units']} units lost {where}: neither on sale, held nor sold "
                   f"({units['lost_by_variant']})")
    if len(units["variants"]) != expected_variants:
        out.append(f"checker self-test: units counted for {len(units['variants'])} of {expected_variants} variants "
                   f"{where} (missing: {units['missing_variants'][:5]})")
    return out


def db_orders(stack, acked):
    """Every acknowledged order must exist exactly once, placed, for its checkout, and be its checkout's only order."""
    return match_orders(stack.psql("SELECT id, checkout_id, status FROM orders"), acked)


def order_key(entry):
    """One duplicated-order finding's identity (match_orders gives acknowledged orders and mismatched checkouts)."""
    return entry.get("order") or f"checkout:{entry.get('checkout')}"


def match_orders(rows, acked):
    """rows: (order id, checkout id, status) of every order in the database; acked: the orders answered 201."""
    by_id = collections.defaultdict(list)
    by_checkout = collections.defaultdict(list)
    for oid, cid, status in rows:
        by_id[oid].append((cid, status))
        by_checkout[cid].append((oid, status))
    lost, duplicated, mismatched = [], [], []
    acked_by_checkout = collections.defaultdict(set)
    for a in acked:
        acked_by_checkout[a["checkout"]].add(a["order"])
    for a in acked:
        found = by_id.get(a["order"], [])
        if not found or found[0][1] != "placed" or found[0][0] != a["checkout"]:
            lost.append(dict(a, found=found))
        if len(found) > 1 or len(by_checkout.get(a["checkout"], [])) > 1:
            duplicated.append(dict(a, rows=by_checkout.get(a["checkout"], [])))
    for cid, orders in acked_by_checkout.items():
        if len(orders) > 1:  # two different order ids acknowledged for one checkout
            mismatched.append({"checkout": cid, "orders": sorted(orders)})
    return {"orders_in_db": len(rows), "lost": lost, "duplicated": duplicated + mismatched}


def db_final(stack, catalog):
    """After the load: placed orders' units per variant must equal the committed reservations' units."""
    rows = stack.psql("""SELECT c.id, c.lines, c.status, COALESCE(o.status, '') FROM checkouts c
                         LEFT JOIN orders o ON o.checkout_id = c.id""")
    return summarize_checkouts(rows, {v["id"] for v in catalog.checkout_variants})


def summarize_checkouts(rows, ids):
    """rows: (checkout id, its lines as JSON, checkout status, its order's status or ''); ids: the tracked
    variants. Units in placed orders per tracked variant, checkouts by state, orders still pending."""
    placed_units = collections.Counter()
    statuses = collections.Counter()
    pending = []
    for cid, lines, cstatus, ostatus in rows:
        statuses[f"{cstatus}/{ostatus or 'no order'}"] += 1
        if ostatus == "pending":
            pending.append(cid)
        if ostatus == "placed":
            for line in json.loads(lines):
                vid = line.get("variant_id") or line.get("variantId")
                if vid in ids:
                    placed_units[vid] += int(line.get("quantity", 0))
    return {"checkout_states": dict(statuses), "pending_orders": pending, "placed_units": dict(placed_units)}


def committed_vs_placed(variants, placed_units):
    """Per tracked variant, units of committed reservations (account_units' variants) against units in placed
    orders; the variants where they differ (empty: every sold unit is in an order and the other way round)."""
    return {vid: {"committed": v["committed"], "placed_orders": placed_units.get(vid, 0)}
            for vid, v in variants.items() if v["committed"] != placed_units.get(vid, 0)}


def run_violations(windows, units, orders, mismatch, expected_variants):
    """The hard invariants of a whole run, as messages (empty: every one held). windows: the baseline and every
    fault, each with its analyse_window and freshness_window results; units, orders, mismatch: the database
    checks after the load (account_units, match_orders, committed_vs_placed)."""
    out = []
    n500 = sum(w["window"]["status_500"] for w in windows)
    if n500:
        where = ", ".join(f"{w['name']} {w['window']['status_500']}" for w in windows if w["window"]["status_500"])
        out.append(f"{n500} responses with status 500 ({where}; see evidence)")
    out.extend(unit_violations(units, expected_variants))
    if orders["lost"]:
        out.append(f"{len(orders['lost'])} acknowledged orders lost (first: {orders['lost'][0]['order']})")
    if orders["duplicated"]:
        out.append(f"{len(orders['duplicated'])} orders duplicated")
    if mismatch:
        out.append(f"committed units differ from placed orders' units: {mismatch}")
    stale = [(w["name"], r) for w in windows for r in w["freshness"]["stale_reads_after_recovery"]]
    if stale:
        views = collections.Counter(r["view"] for _, r in stale)
        out.append(f"{len(stale)} stale reads after recovery ({', '.join(f'{v} {n}' for v, n in sorted(views.items()))}; "
                   f"first: {stale[0][0]}, {stale[0][1]['view']} of {stale[0][1]['product']} on {stale[0][1]['instance']})")
    return out


# ---------------------------------------------------------------------------------------------------
# Analysis and report


def ok_request(r):
    if r["kind"] == "read":
        return r["status"] == 200
    if r["kind"] == "write":
        return r["status"] == 200
    return r["status"] in (200, 201, 409)


def analyse_window(rec, start, lift, end, args):
    ops = [o for o in rec.ops if start <= o["t"] < end]
    reqs = [r for r in rec.requests if start <= r["t"] < end]
    reads = [r for r in reqs if r["kind"] == "read"]
    failed_reads = [r for r in reads if r["status"] != 200]
    during = [r for r in failed_reads if r["t"] < lift]
    checkout = collections.defaultdict(collections.Counter)
    phases = {"during": collections.defaultdict(collections.Counter), "after": collections.defaultdict(collections.Counter)}
    step_ms = collections.defaultdict(list)
    for r in reqs:
        if r["kind"] == "checkout":
            label = str(r["status"] or r["error"])
            if r["status"] == 503:
                label += "+RA" if r["retry_after"] else " no Retry-After"
            checkout[r["step"]][label] += 1
            phases["during" if r["t"] < lift else "after"][r["step"]][label] += 1
            if r["t"] < lift:
                step_ms[r["step"]].append(r["ms"])
    during_reads = sorted(r["ms"] for r in reads if r["t"] < lift)
    during_writes = sorted(r["ms"] for r in reqs if r["kind"] == "write" and r["t"] < lift)
    server_errors = [r for r in reqs if r["status"] >= 500 and r["status"] != 503]
    no_ra = [r for r in reqs if r["status"] == 503 and not r["retry_after"]]
    # Time to recover: the first whole second after the lift in which every operation scheduled succeeded.
    ttr = None
    buckets = collections.defaultdict(list)
    for o in ops:
        if o["t"] >= lift:
            buckets[int(o["t"] - lift)].append(o.get("ok", False))
    last_bad = None
    for k in sorted(buckets):
        if not all(buckets[k]):
            last_bad = k
        if ttr is None and buckets[k] and all(buckets[k]):
            ttr = k
    lat = sorted((r["ms"] for r in reads if r["status"] == 200))
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None
    writes = [r for r in reqs if r["kind"] == "write"]
    # Checkout steps and admin writes sent before the injection and answered after it: what the fault cut into.
    cut = collections.Counter(f"{r['step']} → {r['status'] or r['error']}" for r in rec.requests
                              if r["kind"] != "read" and r["t"] < start < r["t"] + r["ms"] / 1000)
    return {
        "in_flight_at_start": dict(cut),
        "ops": len(ops), "dropped": sum(1 for o in ops if o.get("dropped")),
        "reads": len(reads), "failed_reads": len(failed_reads), "failed_reads_during_fault": len(during),
        "failed_reads_after_lift": len(failed_reads) - len(during),
        "failed_read_kinds": dict(collections.Counter(str(r["status"] or r["error"]) for r in failed_reads)),
        "failed_read_samples": [{"t": round(r["t"], 2), "ms": round(r["ms"]), "instance": r.get("instance"), "path": r.get("path"),
                                 "status": r["status"] or r["error"], "retry_after": r["retry_after"]} for r in failed_reads[:20]],
        "read_p99_ms": round(p99, 1) if p99 is not None else None,
        "failovers": sum(1 for r in reqs if r["attempts"] > 1),
        "checkout": {k: dict(v) for k, v in checkout.items()},
        "checkout_during_fault": {k: dict(v) for k, v in phases["during"].items()},
        "checkout_after_lift": {k: dict(v) for k, v in phases["after"].items()},
        "checkout_ms_during_fault": {k: {"p50": round(sorted(v)[len(v) // 2]), "max": round(max(v))} for k, v in step_ms.items()},
        "read_max_ms_during_fault": round(during_reads[-1]) if during_reads else None,
        "write_max_ms_during_fault": round(during_writes[-1]) if during_writes else None,
        "writes": dict(collections.Counter(str(r["status"] or r["error"]) for r in writes)),
        "server_errors_5xx": len(server_errors), "status_500": sum(1 for r in reqs if r["status"] == 500),
        "503_without_retry_after": len(no_ra),
        "time_to_recover_s": ttr, "last_failed_second_after_lift": last_bad,
    }


def freshness_window(fresh, start, lift, end, normal, stale_budget):
    """Freshness checks of writes acknowledged in [start, end). A stale read is a 200 showing anything but the
    written value (an older value, or a listing page without the product), started more than `stale_budget`
    after the write's acknowledgement; it counts *after recovery* when it started at a normal time (outside
    every fault from injection to lift + --stale-grace). Details and listing pages alike."""
    checks = [c for c in fresh if start <= c["t"] < end]
    lags = {"detail": [], "listing": []}
    stale_during, stale_after, never = 0, [], 0
    stale_by_view = collections.Counter()
    last_stale = None
    for c in checks:
        for name, inst in c["instances"].items():
            view = inst.get("view", "detail")
            if inst["lag_ms"] is not None:
                lags[view].append(inst["lag_ms"])
            else:
                never += 1
            for read in inst["stale_reads"]:
                last_stale = read["t"] if last_stale is None else max(last_stale, read["t"])
                if read["t"] - c["t"] <= stale_budget:
                    continue
                stale_by_view[view] += 1
                if normal(read["t"]):
                    stale_after.append({"write_t": round(c["t"], 2), "read_t": round(read["t"], 2),
                                        "instance": inst.get("instance", name), "view": view, "kind": c["kind"],
                                        "product": c["product"],
                                        "expected": (c.get("expected") or {}).get(view, c["value"]), "seen": read["seen"],
                                        "path": c.get("listing_path") if view == "listing" else None})
                else:
                    stale_during += 1
    every = sorted(lags["detail"] + lags["listing"])
    for v in lags:
        lags[v].sort()
    return {"writes_checked": len(checks), "lag_ms_p50": every[len(every) // 2] if every else None,
            "lag_ms_max": every[-1] if every else None,
            "detail_lag_ms_max": lags["detail"][-1] if lags["detail"] else None,
            "listing_lag_ms_max": lags["listing"][-1] if lags["listing"] else None,
            "listing_reads_fresh": len(lags["listing"]),
            "listing_moved": sum(1 for c in checks if c.get("listing_moved")),
            "never_fresh": never, "stale_reads_by_view": dict(stale_by_view),
            "stale_reads_during_fault": stale_during, "stale_reads_after_recovery": stale_after,
            "last_stale_read_after_lift_s": None if last_stale is None else round(last_stale - lift, 2)}


def fmt_counter(d):
    return ", ".join(f"{k}×{v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "–"


def markdown(result):
    out = []
    cfg = result["config"]
    out.append(f"## Fault suite: {result['started']} ({cfg['mode']}), {cfg['rate']} ops/s, seed {cfg['seed']}\n")
    out.append(f"Primary: {', '.join(f'{k} {v}' for k, v in sorted((cfg.get('primary_settings') or {}).items()))}.\n")
    out.append("| fault | hold s | failed reads (during / after lift) of reads | checkout create, during fault | complete, during fault | 5xx ≠ 503 | oversold / lost units | orders acked / lost / dup | stale after recovery | freshness lag max ms (detail / listing) | time to recover s |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for f in result["faults"]:
        w, fr, db = f["window"], f["freshness"], f["db"]
        out.append(
            f"| {f['name']} | {f['hold_s']:.1f} | {w['failed_reads_during_fault']} / {w['failed_reads_after_lift']} of {w['reads']} | "
            f"{fmt_counter(w['checkout_during_fault'].get('create', {}))} | {fmt_counter(w['checkout_during_fault'].get('complete', {}))} | "
            f"{w['server_errors_5xx']} | {db['oversold_units']} / {db['unaccounted_units']} | {db['acked']} / {db['lost']} / {db['duplicated']} | "
            f"{len(fr['stale_reads_after_recovery'])} | {fr['detail_lag_ms_max'] if fr['detail_lag_ms_max'] is not None else '–'} / "
            f"{fr['listing_lag_ms_max'] if fr['listing_lag_ms_max'] is not None else '–'} | "
            f"{w['time_to_recover_s'] if w['time_to_recover_s'] is not None else 'never'} |")
    for f in [result["baseline"]] + result["faults"]:
        w, fr, db = f["window"], f["freshness"], f.get("db", {})
        out.append(f"\n### {f['name']}: {f.get('description', 'no fault')}\n")
        out.append("| measure | value |")
        out.append("|---|---|")
        rows = [
            ("window (s since load start)", f"{f['start']:.1f} → lift {f['lift']:.1f} → {f['end']:.1f}"
             + (f" (inject took {f['inject_s']:.1f} s, lift {f['lift_s']:.1f} s)" if "inject_s" in f else "")),
            ("operations (dropped: too many in flight)", f"{w['ops']} ({w['dropped']})"),
            ("storefront reads / failed during fault / failed after lift", f"{w['reads']} / {w['failed_reads_during_fault']} / {w['failed_reads_after_lift']}"),
            ("failed reads by outcome", fmt_counter(w["failed_read_kinds"])),
            ("read p99 ms (successful)", w["read_p99_ms"]),
            ("requests that failed over to the other instance", w["failovers"]),
            ("checkout create: during fault / after lift", f"{fmt_counter(w['checkout_during_fault'].get('create', {}))} / {fmt_counter(w['checkout_after_lift'].get('create', {}))}"),
            ("checkout address: during fault / after lift", f"{fmt_counter(w['checkout_during_fault'].get('address', {}))} / {fmt_counter(w['checkout_after_lift'].get('address', {}))}"),
            ("checkout complete, every attempt: during fault / after lift", f"{fmt_counter(w['checkout_during_fault'].get('complete', {}))} / {fmt_counter(w['checkout_after_lift'].get('complete', {}))}"),
            ("checkout latency during fault, p50 / max ms", ", ".join(f"{k} {v['p50']} / {v['max']}" for k, v in w["checkout_ms_during_fault"].items()) or "–"),
            ("slowest read / admin write during fault, ms", f"{w['read_max_ms_during_fault']} / {w['write_max_ms_during_fault']}"),
            ("admin writes", fmt_counter(w["writes"])),
            ("5xx other than 503 / 500 / 503 without Retry-After", f"{w['server_errors_5xx']} / {w['status_500']} / {w['503_without_retry_after']}"),
            ("freshness: writes checked, lag p50 / max ms, never fresh",
             f"{fr['writes_checked']}, {fr['lag_ms_p50']} / {fr['lag_ms_max']}, {fr['never_fresh']}"),
            ("freshness lag max ms: detail / listing page (writes that moved the listing's price or in_stock)",
             f"{fr['detail_lag_ms_max']} / {fr['listing_lag_ms_max']} ({fr['listing_moved']} of {fr['writes_checked']})"),
            ("stale reads during fault / after recovery", f"{fr['stale_reads_during_fault']} / {len(fr['stale_reads_after_recovery'])}"),
            ("last stale read, s after the lift", fr["last_stale_read_after_lift_s"]),
            ("time to recover s (last failed second after lift)", f"{w['time_to_recover_s']} ({w['last_failed_second_after_lift']})"),
        ]
        if "inject_s" in f:
            rows.insert(1, ("injected / inject or lift error", f"{f.get('inject_note') or '–'} / "
                                                               f"{f.get('inject_error') or f.get('lift_error') or 'none'}"))
            rows.insert(2, ("checkout steps and admin writes in flight at the injection (their answer)",
                            fmt_counter(w.get("in_flight_at_start", {}))))
        if db:
            rows += [("oversold units / units lost (neither on sale, held nor sold)", f"{db['oversold_units']} / {db['unaccounted_units']}"),
                     ("orders acknowledged / lost / duplicated (psql)", f"{db['acked']} / {db['lost']} / {db['duplicated']}")]
        for k, v in rows:
            out.append(f"| {k} | {v} |")
    fin = result["final"]
    out.append("\n### After the run (database)\n")
    out.append("| measure | value |")
    out.append("|---|---|")
    out.append(f"| orders acknowledged (201) / in the database | {fin.get('acked')} / {fin.get('orders_in_db')} |")
    out.append(f"| lost / duplicated | {fin.get('lost')} / {fin.get('duplicated')} |")
    out.append(f"| oversold units / units lost (neither on sale, held nor sold) / variants with negative stock | {fin.get('oversold_units')} / {fin.get('unaccounted_units')} / {fin.get('negative_stock_variants')} |")
    out.append(f"| committed units = placed orders' units (checkout variants) | {fin.get('committed_matches_orders')} |")
    out.append(f"| orders still pending | {len(fin.get('pending_orders', []))} |")
    out.append(f"| completes with unknown outcome, retried at the end | {fin.get('unresolved')} → {fin.get('unresolved_outcomes')} |")
    out.append(f"| checkout states (checkout/order) | {fmt_counter(fin.get('checkout_states', {}))} |")
    out.append(f"| server log lines at error/critical | {result['server_log_errors']['count']} |")
    out.append(f"\n**Hard invariants: {'HELD' if not result['violations'] else 'BROKEN'}**" +
               ("" if not result["violations"] else "\n" + "\n".join(f"- {v}" for v in result["violations"])))
    return "\n".join(out)


def server_log_errors(stack, limit=40):
    lines = []
    for name in sorted(os.listdir(stack.logdir)):
        if not name.endswith(".log") or name == "setup.log":
            continue
        with open(os.path.join(stack.logdir, name), errors="replace") as f:
            for line in f:
                if '"level":"error"' in line or '"level":"critical"' in line:
                    lines.append(f"{name}: {line.strip()[:500]}")
    by_msg = collections.Counter()
    for line in lines:
        try:
            msg = json.loads(line.split(": ", 1)[1]).get("msg", "?")
        except (ValueError, IndexError):
            msg = "?"
        by_msg[f"{line.split(':', 1)[0]}: {msg}"] += 1
    return {"count": len(lines), "by_message": dict(by_msg), "first": lines[:limit]}


# ---------------------------------------------------------------------------------------------------
# Self-test of the checker: every pure check function fed made-up answers that it must report (or accept)


def self_test():
    """Returns (passed, failed) lists of case names. No stack, no network: seconds at most."""
    cases = []

    def case(name, ok):
        cases.append((name, bool(ok)))

    V, W, P = "var-1", "var-2", "prod-1"
    detail = {"variants": [{"id": V, "price": {"currency": "EUR", "amount": 1999}, "stock": 7},
                           {"id": W, "price": {"currency": "EUR", "amount": 2999}, "stock": 0}]}
    listing = {"items": [{"id": "prod-0", "price": {"currency": "EUR", "amount": 5}, "in_stock": True},
                         {"id": P, "price": {"currency": "EUR", "amount": 1999}, "in_stock": False}]}
    # Reading the answers.
    case("detail: price and stock of the written variant", detail_value(200, detail, V, "price") == 1999
         and detail_value(200, detail, V, "stock") == 7)
    case("detail: a variant the answer lacks is ABSENT", detail_value(200, detail, "var-9", "price") is ABSENT)
    case("detail: a non-200 answer is no reading", detail_value(503, detail, V, "price") is None)
    case("listing: the product's price and in_stock holes", listing_value(200, listing, P, "price") == 1999
         and listing_value(200, listing, P, "stock") is False)
    case("listing: a page without the product is ABSENT", listing_value(200, listing, "prod-9", "price") is ABSENT)
    case("listing: an item without a price hole reads None, not the old price",
         listing_value(200, {"items": [{"id": P, "in_stock": True}]}, P, "price") is None)
    case("listing: a non-200 answer is no reading", listing_value(500, listing, P, "stock") is None)
    # What the listing must show after a write.
    target = {"others_min_price": 2999, "others_in_stock": False}
    case("expected listing price: the cheapest variant", expected_listing("price", 1500, target) == 1500
         and expected_listing("price", 4000, target) == 2999)
    case("expected listing in_stock: follows the written level when the others are at 0",
         expected_listing("stock", 0, target) is False and expected_listing("stock", 3, target) is True)
    case("expected listing in_stock: another variant in stock keeps it in stock",
         expected_listing("stock", 0, {"others_in_stock": True}) is True)
    values = [write_value("price", seq, 1999, 2999) for seq in range(1, 200)]
    case("price writes stay below the other variants' cheapest price (so the listing moves)",
         all(1 <= v < 2999 for v in values) and 1999 not in values)
    case("a price write never repeats the current value", all(write_value("price", seq, write_value("price", seq, None, 50), 50)
                                                              != write_value("price", seq, None, 50) for seq in range(1, 50)))
    stock = [write_value("stock", seq, 5, None) for seq in range(1, 10)]
    case("stock writes flip in_stock: some are 0, most above 0", 0 in stock and sum(1 for v in stock if v > 0) >= 5
         and 5 not in stock)

    # Freshness: made-up checks, one write at t=10 acknowledged; faults from 20 to 30 (+grace).
    def fresh_check(t, reads, view="listing", lag=None, expected=1500, kind="price"):
        name = "A listing" if view == "listing" else "A"
        return {"t": t, "kind": kind, "product": P, "value": 1500, "expected": {"detail": 1500, "listing": expected},
                "listing_path": "/v1/stores/demo/products?limit=24", "listing_moved": True,
                "instances": {name: {"instance": "A", "view": view, "lag_ms": lag, "stale_reads": reads}}}

    def normal(t):
        return not 20 <= t < 35

    fr = freshness_window([fresh_check(10, [{"t": 10.5, "seen": 1999}, {"t": 12, "seen": 1999}])], 0, 20, 40, normal, 1.0)
    case("freshness: an old listing price read after the budget, outside a fault, is stale after recovery",
         len(fr["stale_reads_after_recovery"]) == 1 and fr["stale_reads_after_recovery"][0]["view"] == "listing"
         and fr["stale_reads_after_recovery"][0]["seen"] == 1999)
    case("freshness: an old value within the budget is not stale", all(r["read_t"] != 10.5 for r in fr["stale_reads_after_recovery"]))
    case("freshness: a listing that never shows the write is counted never fresh", fr["never_fresh"] == 1)
    fr = freshness_window([fresh_check(21, [{"t": 23, "seen": 1999}], lag=4000)], 0, 25, 40, normal, 1.0)
    case("freshness: a stale read during a fault counts as during, not after recovery",
         fr["stale_reads_during_fault"] == 1 and not fr["stale_reads_after_recovery"] and fr["listing_lag_ms_max"] == 4000)
    fr = freshness_window([fresh_check(10, [{"t": 13, "seen": ABSENT}], kind="stock", expected=False)], 0, 20, 40, normal, 1.0)
    case("freshness: a listing page that lost the product is a stale read", len(fr["stale_reads_after_recovery"]) == 1)
    fr = freshness_window([fresh_check(10, [{"t": 13, "seen": True}], view="detail", kind="stock")], 0, 20, 40, normal, 1.0)
    case("freshness: detail reads are still checked", fr["stale_reads_by_view"] == {"detail": 1})

    # Unit accounting: (variant, stock, held, committed, variants with negative stock anywhere).
    initial = {V: 100, W: 15}
    exact = account_units(initial, {}, [(V, "60", "10", "30", "0"), (W, "0", "5", "10", "0")])
    case("units: every unit on sale, held or sold passes", not unit_violations(exact, 2))
    lost = account_units(initial, {}, [(V, "60", "9", "30", "0"), (W, "0", "5", "10", "0")])
    msgs = unit_violations(lost, 2)
    case("units: one unit neither on sale, held nor sold fails the run", lost["unaccounted_units"] == 1
         and lost["lost_by_variant"] == {V: 1} and any("units lost" in m and "neither on sale" in m for m in msgs))
    over = account_units(initial, {}, [(V, "60", "10", "31", "0"), (W, "0", "5", "10", "0")])
    case("units: one unit sold twice is oversold", over["oversold_units"] == 1 and any("oversold" in m for m in unit_violations(over, 2)))
    neg = account_units(initial, {}, [(V, "60", "10", "30", "1"), (W, "0", "5", "10", "1")])
    case("units: a variant with negative stock is overselling", neg["oversold_units"] == 1 and unit_violations(neg, 2))
    restocked = account_units(initial, {W: 20}, [(V, "60", "10", "30", "0"), (W, "20", "5", "10", "0")])
    case("units: restocks count as supplied units", not unit_violations(restocked, 2) and restocked["variants"][W]["restocked"] == 20)
    unrestocked = account_units(initial, {W: 20}, [(V, "60", "10", "30", "0"), (W, "0", "5", "10", "0")])
    case("units: a restock nobody can find is lost units", unrestocked["unaccounted_units"] == 20)
    missing = account_units(initial, {}, [(V, "60", "10", "30", "0")])
    case("units: a variant the query did not return fails the checker self-test",
         any("checker self-test" in m and W in m for m in unit_violations(missing, 2)))
    case("units: no rows at all fail too", unit_violations(account_units(initial, {}, []), 2))

    # Orders: rows (order id, checkout id, status) against orders answered 201.
    rows = [("o1", "c1", "placed"), ("o2", "c2", "placed"), ("o3", "c3", "pending"), ("o4", "c4", "placed"), ("o5", "c4", "placed")]
    ok = match_orders(rows, [{"order": "o1", "checkout": "c1", "t": 1}, {"order": "o2", "checkout": "c2", "t": 2}])
    case("orders: acknowledged orders found once, placed, pass", not ok["lost"] and not ok["duplicated"])
    gone = match_orders(rows, [{"order": "o9", "checkout": "c9", "t": 1}])
    case("orders: an acknowledged order missing from the database is lost", len(gone["lost"]) == 1)
    case("orders: an acknowledged order still pending is lost", len(match_orders(rows, [{"order": "o3", "checkout": "c3", "t": 1}])["lost"]) == 1)
    case("orders: an acknowledged order under another checkout is lost", len(match_orders(rows, [{"order": "o1", "checkout": "c2", "t": 1}])["lost"]) == 1)
    case("orders: two orders for one checkout are duplicated", match_orders(rows, [{"order": "o4", "checkout": "c4", "t": 1}])["duplicated"])
    case("orders: one checkout acknowledged with two order ids is duplicated",
         match_orders([("o1", "c1", "placed")], [{"order": "o1", "checkout": "c1", "t": 1}, {"order": "o7", "checkout": "c1", "t": 2}])["duplicated"])

    # Sold units against placed orders.
    checkouts = [("c1", json.dumps([{"variant_id": V, "quantity": 2}, {"variant_id": "other", "quantity": 9}]), "completed", "placed"),
                 ("c2", json.dumps([{"variant_id": V, "quantity": 1}]), "completed", "pending"),
                 ("c3", json.dumps([{"variant_id": W, "quantity": 1}]), "open", "")]
    summary = summarize_checkouts(checkouts, {V, W})
    case("checkouts: placed orders' units per tracked variant", summary["placed_units"] == {V: 2} and summary["pending_orders"] == ["c2"])
    case("checkouts: committed units equal to placed units pass",
         not committed_vs_placed({V: {"committed": 2}, W: {"committed": 0}}, summary["placed_units"]))
    case("checkouts: a committed unit in no placed order is reported",
         committed_vs_placed({V: {"committed": 3}, W: {"committed": 0}}, summary["placed_units"]) == {V: {"committed": 3, "placed_orders": 2}})

    # Requests: a 500 anywhere, a 503 without Retry-After; the run's verdict from all of it.
    class Rec:
        pass
    rec = Rec()
    rec.ops = [{"t": 1.0, "ok": True}, {"t": 6.0, "ok": False}, {"t": 7.5, "ok": True}]
    rec.requests = [
        {"t": 1.0, "ms": 5, "kind": "read", "step": "listing", "status": 200, "error": None, "retry_after": None, "attempts": 1},
        {"t": 4.9, "ms": 300, "kind": "checkout", "step": "complete", "status": 201, "error": None, "retry_after": None, "attempts": 1},
        {"t": 6.0, "ms": 5, "kind": "checkout", "step": "create", "status": 500, "error": None, "retry_after": None, "attempts": 1},
        {"t": 6.5, "ms": 5, "kind": "checkout", "step": "complete", "status": 503, "error": None, "retry_after": None, "attempts": 1},
        {"t": 7.5, "ms": 5, "kind": "read", "step": "detail", "status": 0, "error": "timeout", "retry_after": None, "attempts": 2}]
    w = analyse_window(rec, 5, 7, 10, None)
    case("window: a 500 is counted", w["status_500"] == 1 and w["server_errors_5xx"] == 1)
    case("window: a complete sent before the injection and answered after it was cut into", w["in_flight_at_start"] == {"complete → 201": 1})
    case("window: a 503 without Retry-After is counted", w["503_without_retry_after"] == 1)
    case("window: a read that timed out after the lift is a failed read after the lift", w["failed_reads_after_lift"] == 1)
    clean_fr = freshness_window([], 0, 1, 2, normal, 1.0)
    clean = {"name": "baseline", "window": analyse_window(rec, 0, 2, 2, None), "freshness": clean_fr}
    case("verdict: a clean run holds", not run_violations([clean], exact, ok, {}, 2))
    bad = {"name": "primary-crash", "window": w,
           "freshness": freshness_window([fresh_check(10, [{"t": 13, "seen": 1999}])], 0, 20, 40, normal, 1.0)}
    verdict = run_violations([clean, bad], lost, gone, {V: {"committed": 3, "placed_orders": 2}}, 2)
    for needle in ("status 500", "units lost", "acknowledged orders lost", "committed units differ", "stale reads after recovery"):
        case(f"verdict reports: {needle}", any(needle in m for m in verdict))
    case("verdict names the fault of the 500", any("primary-crash 1" in m for m in verdict))

    passed = [n for n, good in cases if good]
    failed = [n for n, good in cases if not good]
    return passed, failed


# ---------------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bin = os.path.join(REPO, ".build/release/mercato")
    if not os.path.exists(default_bin):
        default_bin = os.path.join(REPO, ".build/debug/mercato")
    p.add_argument("--mercato", default=default_bin, help="the mercato binary (default: .build/release/mercato, else .build/debug/mercato)")
    p.add_argument("--short", action="store_true", help="CI mode: every fault, short holds (5 s, 10 s recovery), 60 ops/s, small catalog (about 2.5 minutes)")
    p.add_argument("--faults", help=f"comma-separated subset of {','.join(ALL_FAULTS)}")
    p.add_argument("--rate", type=float, default=None, help="operations per second, both instances together (default 80; short 60)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--products", type=int, default=None, help="products per merchant (2 merchants; default 2000, short 500)")
    p.add_argument("--baseline", type=float, default=None, help="seconds of load before the first fault (default 10, short 4)")
    p.add_argument("--hold", type=float, default=None, help="seconds each fault lasts (default 10, short 5)")
    p.add_argument("--primary-down", type=float, default=3.0, help="seconds the primary stays down in primary-restart and primary-crash")
    p.add_argument("--recover", type=float, default=None, help="seconds of load after each lift before the next fault (default 15, short 10)")
    p.add_argument("--slow", type=float, default=2.0, help="delay per inventory call in inventory-slow (s)")
    p.add_argument("--timeout", type=float, default=10.0, help="client timeout per request (s)")
    p.add_argument("--max-inflight", type=int, default=400, help="operations in flight before new ones are dropped")
    p.add_argument("--stale-budget", type=float, default=1.0, help="s after a write's ack during which an old value is not yet 'stale'")
    p.add_argument("--stale-grace", type=float, default=5.0, help="s after a lift still counted as the fault for stale reads")
    p.add_argument("--fresh-deadline", type=float, default=30.0, help="longest a freshness check polls (s)")
    p.add_argument("--json", default="faults-result.json", help="where to write every figure (default ./faults-result.json)")
    p.add_argument("--workdir", help="work folder (default: a new /tmp/mercato-faults-*)")
    p.add_argument("--self-test", action="store_true", help="only test the checker: feed its check functions made-up answers (no stack, no root; under a second)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (database, logs) afterwards; it is kept anyway when an invariant broke or a request hung or failed with a 5xx other than 503")
    args = p.parse_args()
    if args.self_test:
        try:
            passed, failed = self_test()
        except Exception as e:  # a check function that raises on made-up input is broken too
            print(f"checker self-test: crashed: {e!r}")
            return 1
        for name in failed:
            print(f"FAIL {name}")
        print(f"checker self-test: {len(passed)} cases passed, {len(failed)} failed")
        return 1 if failed else 0

    short = args.short
    args.rate = args.rate or (60.0 if short else 80.0)
    args.products = args.products or (500 if short else 2000)
    args.baseline = args.baseline if args.baseline is not None else (4.0 if short else 10.0)
    args.hold = args.hold if args.hold is not None else (5.0 if short else 10.0)
    args.recover = args.recover if args.recover is not None else (10.0 if short else 15.0)
    faults = args.faults.split(",") if args.faults else (SHORT_FAULTS if short else ALL_FAULTS)
    for f in faults:
        if f not in ALL_FAULTS:
            p.error(f"unknown fault {f}; choose from {', '.join(ALL_FAULTS)}")
    if not os.access(args.mercato, os.X_OK):
        p.error(f"mercato binary not found or not executable: {args.mercato} (swift build -c release, or pass --mercato)")
    if os.geteuid() != 0:
        p.error("run as root: scripts/postgres.sh runs PostgreSQL as the postgres user")
    args.mercato = os.path.abspath(args.mercato)

    workdir = args.workdir or tempfile.mkdtemp(prefix="mercato-faults-")
    os.makedirs(workdir, exist_ok=True)
    stack = Stack(args, workdir)
    atexit.register(stack.close)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    # Explicitly: a shell starts background jobs with SIGINT ignored, and Python keeps an inherited "ignore".
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    started_wall = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    began = time.monotonic()
    load = None
    exit_code = 2
    anomalies = False  # a hang or an unexpected 5xx: keep the work folder (server logs) for the evidence
    violations = []
    try:
        try:
            stack.setup(args.products)
            catalog = Catalog().discover(stack.api_ports[0], stack.token, checkout_variants=20, scarce=4,
                                         write_products=40, timeout=args.timeout)
        except (SetupError, subprocess.TimeoutExpired) as e:
            log(f"setup failed: {e}")
            return 2
        setup_s = time.monotonic() - began
        log(f"setup took {setup_s:.1f} s; {len(catalog.products)} products listed, {len(catalog.categories)} categories")

        rec = Recorder()
        lb = Balancer(stack.api_ports, args.timeout)
        load = Load(args, stack, catalog, rec, lb)
        injector = Faults(args, stack, load)
        planned = args.baseline + sum(injector.hold(f) + args.recover for f in faults)
        runner = threading.Thread(target=load.run, args=(planned,), daemon=True, name="scheduler")
        runner.start()
        while load.t0 is None:
            time.sleep(0.01)
        time.sleep(args.baseline)
        windows = []
        reported = {"lost": set(), "duplicated": set()}  # orders already charged to an earlier window
        baseline_end = load.now()
        for name in faults:
            prepared = injector.prepare(name)
            start = load.now()
            log(f"fault {name}: inject" + (f" ({prepared})" if prepared else ""))
            t = time.monotonic()
            inject_error, inject_note = None, None
            try:
                inject_note = injector.inject(name)
            except Exception as e:  # the fault was not (fully) injected: the run fails, but goes on to lift it
                inject_error = repr(e)
                violations.append(f"fault {name} could not be injected: {e}")
                log(f"fault {name}: inject failed: {e}")
            inject_s = time.monotonic() - t
            if inject_note:
                log(f"fault {name}: {inject_note} in {inject_s:.2f} s")
            time.sleep(max(0.0, injector.hold(name) - inject_s))
            lift = load.now()
            log(f"fault {name}: lift")
            t = time.monotonic()
            lift_error = None
            try:
                injector.lift(name)
            except Exception as e:  # the run fails; it goes on so the rest is measured
                lift_error = repr(e)
                violations.append(f"fault {name} could not be lifted: {e}")
                log(f"fault {name}: lift failed: {e}")
            lift_s = time.monotonic() - t
            time.sleep(args.recover)
            end = load.now()
            # The units and orders invariants at the end of this fault's window, from one snapshot each.
            with rec.lock:
                acked = [a for a in rec.acked if a["t"] < end]
            units = db_units(stack, catalog)
            orders = db_orders(stack, acked)
            acked_here = [a for a in acked if start <= a["t"]]
            # A loss is charged to the window whose check first finds it: an order whose checkout started
            # before the fault and was lost by it (acknowledged just before a crash) belongs to this fault.
            lost_here = [x for x in orders["lost"] if x["order"] not in reported["lost"]]
            dup_here = [x for x in orders["duplicated"] if order_key(x) not in reported["duplicated"]]
            reported["lost"].update(x["order"] for x in lost_here)
            reported["duplicated"].update(order_key(x) for x in dup_here)
            windows.append({"name": name, "description": DESCRIPTIONS[name], "start": start, "lift": lift, "end": end,
                            "hold_s": lift - start, "inject_s": inject_s, "lift_s": lift_s, "lift_error": lift_error,
                            "inject_error": inject_error, "inject_note": "; ".join(x for x in (prepared, inject_note) if x) or None,
                            "db": {"oversold_units": units["oversold_units"], "unaccounted_units": units["unaccounted_units"],
                                   "negative_stock_variants": units["negative_stock_variants"],
                                   "acked": len(acked_here), "lost": len(lost_here), "duplicated": len(dup_here),
                                   "lost_orders": lost_here, "duplicated_orders": dup_here}})
            window_violations = unit_violations(units, len(catalog.checkout_variants), f"after {name}")
            windows[-1]["db"]["lost_units"] = units["unaccounted_units"]
            windows[-1]["db"]["lost_units_by_variant"] = units["lost_by_variant"]
            windows[-1]["violations"] = window_violations
            violations.extend(window_violations)
            log(f"fault {name}: window over (oversold {units['oversold_units']}, units lost {units['unaccounted_units']}, "
                f"orders lost {len(lost_here)}, dup {len(dup_here)})")
        load.stop.set()
        runner.join(10)
        load.pool.shutdown(wait=False)
        drain_deadline = time.monotonic() + args.fresh_deadline + args.timeout * 2
        while load.inflight > 0 and time.monotonic() < drain_deadline:
            time.sleep(0.2)
        run_end = load.now()

        # Completes whose outcome stayed unknown: a client keeps retrying with its key; do it once more now.
        unresolved_outcomes = collections.Counter()
        for u in rec.unresolved:
            r, _ = lb.send(0, "POST", f"/v1/checkouts/{u['checkout']}/complete", None, u["headers"], repeatable=True)
            unresolved_outcomes[str(r.status or r.error)] += 1
            if r.status == 201:
                with rec.lock:
                    rec.acked.append({"order": r.json().get("id"), "checkout": u["checkout"], "t": u["t"],
                                      "lines": u["lines"], "late": True})

        # Fault intervals for the stale-read classification.
        intervals = [(w["start"], w["lift"] + args.stale_grace) for w in windows]

        def normal(t):
            return not any(a <= t < b for a, b in intervals)

        result = {"started": started_wall, "command": " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
                  "config": {"mode": "short" if short else "full", "faults": faults, "rate": args.rate, "seed": args.seed,
                             "products_per_merchant": args.products, "hold_s": args.hold, "recover_s": args.recover,
                             "primary_down_s": args.primary_down, "slow_s": args.slow, "timeout_s": args.timeout,
                             "stale_budget_s": args.stale_budget, "stale_grace_s": args.stale_grace,
                             "checkout_variants": catalog.checkout_variants, "mercato": args.mercato,
                             "primary_settings": stack.durability},
                  "setup_s": round(setup_s, 1)}
        base_w = analyse_window(rec, 0, baseline_end, baseline_end, args)
        result["baseline"] = {"name": "baseline", "start": 0.0, "lift": baseline_end, "end": baseline_end,
                              "window": base_w, "freshness": freshness_window(rec.fresh, 0, baseline_end, baseline_end, normal, args.stale_budget)}
        for i, w in enumerate(windows):
            # The last window runs to the end of the load, so late operations are not left out.
            end = w["end"] if i + 1 < len(windows) else run_end + 1
            w["window"] = analyse_window(rec, w["start"], w["lift"], end, args)
            w["freshness"] = freshness_window(rec.fresh, w["start"], w["lift"], end, normal, args.stale_budget)
        result["faults"] = windows

        units = db_units(stack, catalog)
        orders = db_orders(stack, rec.acked)
        final = db_final(stack, catalog)
        mismatch = committed_vs_placed(units["variants"], final["placed_units"])
        result["final"] = {"acked": len(rec.acked), "orders_in_db": orders["orders_in_db"], "lost": len(orders["lost"]),
                           "duplicated": len(orders["duplicated"]), "lost_orders": orders["lost"][:20],
                           "duplicated_orders": orders["duplicated"][:20],
                           "oversold_units": units["oversold_units"], "unaccounted_units": units["unaccounted_units"],
                           "negative_stock_variants": units["negative_stock_variants"], "variants": units["variants"],
                           "committed_matches_orders": not mismatch, "committed_vs_orders_mismatch": mismatch,
                           "unresolved": len(rec.unresolved), "unresolved_outcomes": dict(unresolved_outcomes), **final}
        result["load"] = {"ops": len(rec.ops), "requests": len(rec.requests), "dropped": rec.dropped,
                          "exceptions": [o["exception"] for o in rec.ops if "exception" in o][:10],
                          "raw_errors_before_failover": {f"{'AB'[k[0]]}:{k[1]}": v for k, v in lb.raw_errors.items()},
                          "duration_s": round(run_end, 1)}
        result["evidence"] = rec.evidence[:50]
        anomalies = bool(rec.evidence)
        result["server_log_errors"] = server_log_errors(stack)

        all_windows = [result["baseline"]] + windows
        violations.extend(run_violations(all_windows, units, orders, mismatch, len(catalog.checkout_variants)))
        # The checkers check themselves on the live database too: a made-up order must be reported lost (the
        # units query counting every checkout variant is checked by unit_violations; --self-test feeds every
        # check made-up answers without a stack).
        probe = db_orders(stack, [{"order": "00000000-0000-4000-8000-000000000000", "checkout": "00000000-0000-4000-8000-000000000001", "t": 0}])
        if len(probe["lost"]) != 1:
            violations.append("checker self-test: a made-up order was not reported lost")
        result["violations"] = violations
        result["duration_s"] = round(time.monotonic() - began, 1)
        report = markdown(result)
        print(report)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)
        log(f"JSON: {os.path.abspath(args.json)}; total {result['duration_s']} s")
        exit_code = 1 if violations else 0
        return exit_code
    except CheckError as e:  # the invariants could not be checked: that is a failed run, not a setup error
        log(f"run failed: a database check could not run: {e}")
        exit_code = 1
        return exit_code
    finally:
        if load is not None:
            load.stop.set()
            load.abort.set()
        stack.close()
        if exit_code == 0 and not anomalies and not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"work folder kept: {workdir} (logs in {stack.logdir})")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # everything was already stopped by main's finally
        log("interrupted")
        sys.exit(130)
