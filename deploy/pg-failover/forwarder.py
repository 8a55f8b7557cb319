#!/usr/bin/env python3
"""The address that follows the primary, for deploy/pg-failover-test.sh: a TCP forwarder on
one port that connects each new client to the port named in a control file. The file holds
`PORT` or `PORT blackhole`; on a change, new connections go to PORT, and with `blackhole` every
connection open until then is frozen first: both its sockets stay open and nothing more is
read or written, so the client sees no FIN and no RST, as when a VIP moves or a host
vanishes. Without `blackhole`, old connections carry on (or end) as their server does."""
import asyncio
import sys

listen_port, control_path = int(sys.argv[1]), sys.argv[2]
target = {"port": None}
links = []  # one asyncio.Event per open connection, set to freeze it


def read_control():
    try:
        with open(control_path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


async def pipe(reader, writer, frozen):
    try:
        while True:
            read = asyncio.ensure_future(reader.read(65536))
            freeze = asyncio.ensure_future(frozen.wait())
            done, _ = await asyncio.wait({read, freeze}, return_when=asyncio.FIRST_COMPLETED)
            if freeze in done:
                read.cancel()
                await asyncio.Event().wait()  # silent for ever
            freeze.cancel()
            data = read.result()
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    if not frozen.is_set():
        writer.close()


async def serve(client_reader, client_writer):
    port = target["port"]
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        client_writer.close()
        return
    frozen = asyncio.Event()
    links.append(frozen)
    await asyncio.gather(
        pipe(client_reader, server_writer, frozen),
        pipe(server_reader, client_writer, frozen),
    )


async def follow_control():
    seen = None
    while True:
        words = read_control()
        if words and words != seen:
            seen = words
            if "blackhole" in words[1:]:
                for frozen in links:
                    frozen.set()
                links.clear()
            target["port"] = int(words[0])
            print(f"forwarder: now to {words[0]} {' '.join(words[1:])}", file=sys.stderr, flush=True)
        await asyncio.sleep(0.1)


async def main():
    while not read_control():
        await asyncio.sleep(0.1)
    target["port"] = int(read_control()[0])
    server = await asyncio.start_server(serve, "127.0.0.1", listen_port)
    async with server:
        await asyncio.gather(server.serve_forever(), follow_control())


asyncio.run(main())
