"""Redis down when the server starts: the cache must come up once Redis does; and after
shutdown no timer / thread may reopen a listener."""
import sys, os, time, subprocess, threading; sys.path.insert(0, "/tmp/review_nc2")
from common import *
from fastapi.testclient import TestClient
import redis, gc
PORT = 6393; url = f"redis://127.0.0.1:{PORT}/0"
def start(): subprocess.run(["redis-server", "--port", str(PORT), "--save", "", "--daemonize", "yes"], check=True); time.sleep(0.3)
start(); root = make_project("/tmp/review_nc2/p_down", url); redis.Redis(port=PORT).shutdown(nosave=True); time.sleep(0.3)
from aligned_cli.online.near_cache import NearCache
t = time.monotonic()
with TestClient(app_for(root, url), raise_server_exceptions=False) as api:
    print(f"lifespan start with Redis down took {time.monotonic()-t:.2f}s; /features -> {rate(api)[0]}")
    cache = next(o for o in gc.get_objects() if isinstance(o, NearCache) and not o._closed)
    time.sleep(6); start(); r = redis.Redis(port=PORT); make_project("/tmp/review_nc2/p_down", url)
    t = time.monotonic()
    while not cache.active() and time.monotonic() - t < 40: rate(api); time.sleep(0.1)
    print(f"Redis up 6 s after start; cache active {time.monotonic()-t:.1f}s later: {cache.active()}")
    rate(api); rate(api); r.hset(KEY, "conv_rate", "f:9.5"); print("after write:", rate(api)[1]["value"])
    # shutdown while Redis is down: a retry timer pending
    r.shutdown(nosave=True); time.sleep(5)
    print("before shutdown: listener", cache._listener is not None, "timer", cache._timer is not None)
t = time.monotonic(); print(f"closed (timer pending) in {time.monotonic()-t:.2f}s")
start(); time.sleep(3)
print("after close + Redis up again: listeners", sum(c["name"] == "aligned-serve-near-cache" for c in redis.Redis(port=PORT).client_list()),
      "threads:", [th.name for th in threading.enumerate()])
# close while a subscribe attempt is in flight against a hung Redis
pid = int(subprocess.check_output(["redis-cli", "-p", str(PORT), "info", "server"]).decode().split("process_id:")[1].split()[0])
api = TestClient(app_for(root, url)); api.__enter__(); rate(api)
import signal; os.kill(pid, signal.SIGSTOP); time.sleep(4.5)   # dropped at ~3-4 s, retry opens at +1 s
t = time.monotonic(); api.__exit__(None, None, None); print(f"close while hung: {time.monotonic()-t:.2f}s")
os.kill(pid, signal.SIGCONT); time.sleep(3)
print("listeners after:", sum(c["name"] == "aligned-serve-near-cache" for c in redis.Redis(port=PORT).client_list()))
redis.Redis(port=PORT).shutdown(nosave=True)
