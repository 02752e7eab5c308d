# Interop: Python's websockets (Debian's python3-websockets) as a client of our server.
# Sends text, binary, a fragmented text message and a large compressible one; prints the
# echoes, the extensions in force and the close code as JSON.
#
# Usage: websockets_client.py URL [DEFLATE-PARAMS-JSON]. Without the second argument the
# client offers websockets' default permessage-deflate; with it, the JSON object is given to
# ClientPerMessageDeflateFactory, e.g. '{"server_max_window_bits": 15}'.
import asyncio, json, sys
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

def describe(m):
    b = m.encode() if isinstance(m, str) else m
    return ("text" if isinstance(m, str) else "binary") + ":" + str(len(b)) + ":" + b[:12].hex()

async def main(url, params):
    if params is None:
        kwargs = {"compression": "deflate"}
    else:
        kwargs = {"compression": None, "extensions": [ClientPerMessageDeflateFactory(**params)]}
    async with websockets.connect(url, max_size=2**24, **kwargs) as ws:
        results = []
        for m in ["hello from python", bytes([0, 1, 2, 254, 255]), ["frag", "men", "ted"], "y" * 100000]:
            await ws.send(m)
            results.append(describe(await ws.recv()))
        ext = [repr(e) for e in ws.extensions]
        await ws.close(1000, "done")
        print(json.dumps({"code": ws.close_code, "extensions": ext, "results": results}))

try:
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else None))
except Exception as e:
    print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
