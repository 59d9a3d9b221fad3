# A TCP proxy that holds every chunk DELAY ms in each direction (round trip + 2 x DELAY), in
# order: the network between a worker and Redis, for bench/queue_rtt.sh. Usage: delay_proxy.py
# LISTEN_PORT TARGET_PORT DELAY_MS (127.0.0.1 both sides); prints "ready" once listening.
import asyncio, sys
LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
async def pipe(reader, writer):
    queue = asyncio.Queue()
    async def pump():
        while True:
            due, data = await queue.get()
            if data is None:
                writer.close(); return
            wait = due - asyncio.get_running_loop().time()
            if wait > 0: await asyncio.sleep(wait)
            writer.write(data); await writer.drain()
    task = asyncio.create_task(pump())
    while True:
        data = await reader.read(65536)
        queue.put_nowait((asyncio.get_running_loop().time() + DELAY, data or None))
        if not data: break
    await task
async def handle(client_reader, client_writer):
    server_reader, server_writer = await asyncio.open_connection('127.0.0.1', TARGET)
    await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer), return_exceptions=True)
async def main():
    server = await asyncio.start_server(handle, '127.0.0.1', LISTEN)
    print('ready', flush=True)
    await server.serve_forever()
asyncio.run(main())
