"""A /run_live client for the tests: sends text turns over ADK's WebSocket and times each answer.

    python live_client.py WS_URL ORIGIN TURNS

Prints one JSON line: {"status": 101, "round_trips_ms": [...], "answers": [...]} or, when the handshake
is refused, {"status": <the HTTP status>}.
"""

import asyncio
import json
import sys
import time

import websockets


async def main(url: str, origin: str, turns: int) -> dict:
    try:
        socket = await websockets.connect(url, origin=origin or None, open_timeout=10)
    except websockets.exceptions.InvalidStatus as refused:
        return {"status": refused.response.status_code}
    round_trips, answers = [], []
    async with socket:
        for turn in range(turns):
            text = f"ping {turn}"
            started = time.perf_counter()
            await socket.send(json.dumps({"content": {"role": "user", "parts": [{"text": text}]}}))
            while True:
                event = json.loads(await asyncio.wait_for(socket.recv(), 10))
                parts = (event.get("content") or {}).get("parts") or []
                said = "".join(part.get("text", "") for part in parts)
                if said:
                    round_trips.append((time.perf_counter() - started) * 1000)
                    answers.append(said)
                    break
    return {"status": 101, "round_trips_ms": round_trips, "answers": answers}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))))
