#!/usr/bin/python3
"""Fetch every URL in a file with aiohttp and print one JSON line per result.

The benchmark's Python peer: the asyncio recipe as people usually write it — one
ClientSession, a TCPConnector(limit=C), an asyncio.Semaphore(C) around each request, and
asyncio.gather over all URLs. Each body is read (and only its length kept); results are
printed in input order once everything is done.

usage: aiohttp_fetch.py [-c C] [-t SEC] URLS_FILE > results.ndjson
Exit status: 0 if every request got a status below 400, 1 otherwise.
"""

import argparse
import asyncio
import json
import sys

import aiohttp


async def fetch(session, semaphore, index, url):
    async with semaphore:
        try:
            async with session.get(url) as response:
                body = await response.read()
                return {"index": index, "url": url, "ok": response.status < 400,
                        "status": response.status, "size": len(body), "error": None}
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return {"index": index, "url": url, "ok": False, "status": None, "size": 0,
                    "error": repr(exc)}


async def fetch_all(urls, concurrency, timeout):
    semaphore = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        return await asyncio.gather(*(fetch(session, semaphore, i, url)
                                      for i, url in enumerate(urls)))


def read_urls(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--concurrency", type=int, default=10)
    parser.add_argument("-t", "--timeout", type=float, default=30.0)
    parser.add_argument("urls_file")
    args = parser.parse_args()

    results = asyncio.run(fetch_all(read_urls(args.urls_file), args.concurrency, args.timeout))
    for result in results:
        sys.stdout.write(json.dumps(result) + "\n")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
