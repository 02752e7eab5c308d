# Interop: Python's websockets (Debian's python3-websockets) as a client of our server.
# Sends text, binary, a fragmented text message and a large compressible one; prints the
# echoes and the close code as JSON.
import asyncio, json, sys
import websockets

def describe(m):
    b = m.encode() if isinstance(m, str) else m
    return ("text" if isinstance(m, str) else "binary") + ":" + str(len(b)) + ":" + b[:12].hex()

async def main(url):
    async with websockets.connect(url, compression="deflate", max_size=2**24) as ws:
        results = []
        for m in ["hello from python", bytes([0, 1, 2, 254, 255]), ["frag", "men", "ted"], "y" * 100000]:
            await ws.send(m)
            results.append(describe(await ws.recv()))
        ext = [type(e).__name__ for e in ws.extensions]
        await ws.close(1000, "done")
        print(json.dumps({"code": ws.close_code, "extensions": ext, "results": results}))

asyncio.run(main(sys.argv[1]))
