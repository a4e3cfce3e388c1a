"""A KissBot-style bot reporting to the Monitor (or kissbot-bridge) with the standard library
only, to show the protocol: one JSON line per connection, nothing read back. Ctrl-C unregisters.
    python3 examples/python-bot.py my_channel"""
import asyncio
import json
import os
import random
import sys
import time

SOCKET = os.environ.get("KISSBOT_MONITOR_SOCKET", "/tmp/kissbot_monitor.sock")
CHANNEL = sys.argv[1] if len(sys.argv) > 1 else "example_channel"


async def send(message):
    """Fire and forget: False when the Monitor is absent, refuses or is slow; never raises."""
    if not os.path.exists(SOCKET):
        return False
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(SOCKET), timeout=2.0)
        writer.write((json.dumps(message) + "\n").encode("utf-8"))
        await asyncio.wait_for(writer.drain(), timeout=2.0)
        writer.close()
        await writer.wait_closed()
        return True
    except Exception:
        return False


async def heartbeats(interval):
    while True:
        await asyncio.sleep(interval)
        await send({"type": "heartbeat", "channel": CHANNEL, "pid": os.getpid()})


async def main():
    if not await send({"type": "register", "channel": CHANNEL, "pid": os.getpid(), "features": {"llm": True}}):
        print("Monitor unavailable, continuing without monitoring")
    beat = asyncio.create_task(heartbeats(float(os.environ.get("HEARTBEAT_SECONDS", "30"))))
    try:
        while True:
            start = time.monotonic()
            await asyncio.sleep(random.uniform(0.05, 0.25))  # the "LLM call"
            await send({"type": "llm_usage", "channel": CHANNEL, "model": "gpt-4o-mini", "feature": "jokes",
                        "tokens_in": 120, "tokens_out": 40, "latency_ms": int((time.monotonic() - start) * 1000)})
            await asyncio.sleep(3)
    finally:
        beat.cancel()
        await send({"type": "unregister", "channel": CHANNEL, "pid": os.getpid()})
        print("unregistered, bye")


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
