#!/usr/bin/env python3
"""What a batch of positions costs Redis, by batch size: the commands the service's position
batch sends (HSET fix, ZADD fix_at and PUBLISH to three subscribers, in a MULTI/EXEC), from a
plain client against a bare redis-server, and Redis's own CPU (INFO cpu) per position.

    redis-server --port 6399 --save "" --appendonly no &
    loadtest/redis_batch_cost.py 6399 4000 60        # port, positions/s (omit: flat out), batch
    loadtest/redis_batch_cost.py 6399 4000 200 B,N   # only some variants (by first letter)

Variants: A a JSON bus batch (as the service wrote before issue #23's binary frame), B a binary
bus batch (MULTI, HSET, ZADD, EXEC and PUBLISH sent together: one wake-up when Redis reads them
in one go), S B as the service sent it before the write and its announcement became one step
(PUBLISH only after EXEC's reply: two round trips), C B with scores rounded up to the minute,
D C with binary hash values, E B without the ZADD (a floor), N as the service writes now (one
MULTI with HSET, ZADD of minute scores, PUBLISH, EXEC: one round trip), M N with a ZADD only
for the mediators whose minute changed since their last write.
Every mediator is written twice before the window, so updates, not inserts, are measured.
Standard library only.
"""
import socket, subprocess, time, uuid, json, random, sys, os, struct, threading, tempfile

def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str): a = a.encode()
        elif isinstance(a, (int, float)): a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port)); self.buf = b""
    def send(self, data): self.s.sendall(data)
    def call(self, *args):
        self.s.sendall(resp(*args)); return self.read_reply()
    def readline(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1); return line
    def read_reply(self):
        line = self.readline(); t = line[:1]
        if t in (b"+", b"-", b":"): return line
        if t == b"$":
            n = int(line[1:])
            if n < 0: return None
            while len(self.buf) < n + 2: self.buf += self.s.recv(65536)
            v, self.buf = self.buf[:n], self.buf[n+2:]; return v
        if t == b"*":
            n = int(line[1:]); return [self.read_reply() for _ in range(max(n,0))]
        raise Exception(line)

def info_cpu(c):
    info = c.call("INFO", "cpu").decode()
    d = dict(l.split(":") for l in info.splitlines() if ":" in l)
    return float(d["used_cpu_user"]) + float(d["used_cpu_sys"])

def subscriber(port, stop):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(resp("SUBSCRIBE", "{lt}:bus"))
    s.settimeout(0.5)
    while not stop.is_set():
        try: s.recv(1 << 20)
        except socket.timeout: pass

def run(variant, port, n_med=20000, batch=60, seconds=8, rate=None):
    ids = [str(uuid.uuid4()) for _ in range(n_med)]
    c = Conn(port)
    c.call("FLUSHALL")
    t0 = 1_765_000_000_000
    # seed
    def fixval(i, ms):
        if variant.get("binval"):
            return struct.pack("<BddqiBf", 1, 36.6 + i * 1e-6, 101.7, ms // 1000, 123456789, 1, 10.0)
        return json.dumps({"point": {"lat": 36.6 + i * 1e-6, "lng": 101.7}, "at": "2026-12-06T13:27:55.123456789Z", "accuracy_m": 10.0}, separators=(",", ":"))
    def score(ms):
        if variant.get("ceil"): return -(-ms // 60000) * 60000
        return ms
    stop = threading.Event()
    subs = [threading.Thread(target=subscriber, args=(port, stop), daemon=True) for _ in range(3)]
    for t in subs: t.start()
    time.sleep(0.3)
    last_minute = {}
    ms = t0; k = 0; done = 0
    w0 = time.time(); measuring = False; warm = n_med * 2
    while not measuring or time.time() - w0 < seconds:
        if not measuring and done >= warm:
            measuring = True; done = 0; cpu0 = info_cpu(c); w0 = time.time()
        cmds = []
        chunk = [ids[(k + j) % n_med] for j in range(batch)]; k += batch
        ms += 5 * 1000 * batch // n_med + 1
        hset = ["HSET", "{lt}:fix"]; zadd = ["ZADD", "{lt}:fix_at"]
        for j, id_ in enumerate(chunk):
            hset += [id_, fixval(j, ms)]
            if variant.get("changed") and last_minute.get(id_) == score(ms): continue
            last_minute[id_] = score(ms)
            zadd += [score(ms), id_]
        zadd = resp(*zadd) if not variant.get("nozadd") and len(zadd) > 2 else b""
        if variant.get("binbus"): payload = b"\x01" + os.urandom(4 + 49 * batch)
        else: payload = json.dumps({"t": "fixes", "fixes": [[i, {"point": {"lat": 36.6, "lng": 101.7}, "at": "2026-12-06T13:27:55.123456789Z", "accuracy_m": 10.0}] for i in chunk]}, separators=(",", ":"))
        publish = resp("PUBLISH", "{lt}:bus", payload)
        nrep = 4 + (1 if zadd else 0)
        if variant.get("inside"):
            c.send(resp("MULTI") + resp(*hset) + zadd + publish + resp("EXEC"))
            for _ in range(nrep): c.read_reply()
        elif variant.get("twotrips"):
            c.send(resp("MULTI") + resp(*hset) + zadd + resp("EXEC"))
            for _ in range(nrep - 1): c.read_reply()
            c.send(publish); c.read_reply()
        else:
            c.send(resp("MULTI") + resp(*hset) + zadd + resp("EXEC") + publish)
            for _ in range(nrep): c.read_reply()
        done += batch
        if rate and measuring:
            due = w0 + done / rate
            d = due - time.time()
            if d > 0: time.sleep(d)
    cpu1 = info_cpu(c); w1 = time.time()
    stop.set()
    return (cpu1 - cpu0) * 1e6 / done, done / (w1 - w0)

port = int(sys.argv[1])
_c = Conn(port); _a = info_cpu(_c); time.sleep(5); print(f"idle redis: {(info_cpu(_c)-_a)/5*1e3:.2f} ms CPU/s", flush=True)
variants = {
  "A current": {},
  "B binary bus": {"binbus": 1},
  "S B in two round trips": {"binbus": 1, "twotrips": 1},
  "C B + minute scores": {"binbus": 1, "ceil": 1},
  "D C + binary values": {"binbus": 1, "ceil": 1, "binval": 1},
  "E B + no zadd": {"binbus": 1, "nozadd": 1},
  "N service now: one MULTI": {"binbus": 1, "ceil": 1, "inside": 1},
  "M N + zadd on minute change": {"binbus": 1, "ceil": 1, "inside": 1, "changed": 1},
}
RATE = float(sys.argv[2]) if len(sys.argv) > 2 else None
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 60
only = sys.argv[4].split(",") if len(sys.argv) > 4 else None
for rep in range(2):
    for name, v in variants.items():
        if only and name[0] not in only: continue
        us, rate = run(v, port, rate=RATE, batch=BATCH)
        print(f"{name:28s} {us:6.2f} us/pos redis CPU  ({rate:.0f} pos/s)", flush=True)
