"""Drives an MCP server with the official Python MCP SDK (streamable HTTP
client), for the Rust tests of bins/mcp-*/tests (crates/test-support/src/mcp.rs).

stdin: {"url": ..., "headers": {...}, "steps": [{"op": "list"} |
        {"op": "call", "name": ..., "arguments": {...}}]}
stdout: one JSON list, an entry per step after {"op": "initialize", ...}
(a call answered with a JSON-RPC error gives {"jsonrpc_error": code, "text"});
on a failure to connect: {"failure": "<messages>"} and exit code 3.
"""

import asyncio
import json
import sys

from mcp import ClientSession, McpError
from mcp.client.streamable_http import streamablehttp_client


def messages(error: BaseException) -> list[str]:
    if isinstance(error, BaseExceptionGroup):
        return [text for inner in error.exceptions for text in messages(inner)]
    return [f"{type(error).__name__}: {error}"]


async def drive(plan: dict) -> list:
    out = []
    async with streamablehttp_client(plan["url"], headers=plan.get("headers") or {}) as (read, write, _):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            out.append({
                "op": "initialize",
                "server": init.serverInfo.name,
                "protocol": init.protocolVersion,
            })
            for step in plan["steps"]:
                if step["op"] == "list":
                    listed = await session.list_tools()
                    out.append({
                        "op": "list",
                        "tools": [tool.model_dump(mode="json", by_alias=True, exclude_none=True)
                                  for tool in listed.tools],
                    })
                else:
                    try:
                        result = await session.call_tool(step["name"], step.get("arguments") or {})
                    except McpError as error:
                        out.append({"op": "call", "jsonrpc_error": error.error.code,
                                    "text": error.error.message})
                        continue
                    out.append({
                        "op": "call",
                        "isError": bool(result.isError),
                        "text": "\n".join(item.text for item in result.content if item.type == "text"),
                    })
    return out


def main() -> int:
    plan = json.load(sys.stdin)
    try:
        out = asyncio.run(drive(plan))
    except BaseException as error:  # noqa: BLE001 - reported to the Rust test
        print(json.dumps({"failure": "; ".join(messages(error))}))
        return 3
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
