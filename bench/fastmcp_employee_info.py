"""The Python system's stack for bench/mcp.sh: a FastMCP server (mcp 1.13.1
from target/venv/mcp) exposing get_employee_laptop_info on the same data
file and with the same answer and identity rule as mcp-employee-info,
served over streamable HTTP, stateless with JSON answers like ours.

Usage: python fastmcp_employee_info.py <employees.json> <port>
"""

import json
import logging
import sys
from datetime import date

from mcp.server.fastmcp import Context, FastMCP
from starlette.requests import Request
from starlette.responses import JSONResponse

employees = json.load(open(sys.argv[1]))
by_key = {}
for employee in employees:
    by_key[employee["employee_id"].lower()] = employee
    by_key[employee["email"].lower()] = employee

# mcp 1.13.1 logs a ClosedResourceError traceback after every stateless
# request ("Error in message router") although the answer is complete; the
# logging would be measured instead of the serving.
logging.getLogger("mcp.server.streamable_http").setLevel(logging.CRITICAL)

mcp = FastMCP("fastmcp-employee-info", host="127.0.0.1", port=int(sys.argv[2]),
              stateless_http=True, json_response=True, log_level="WARNING")


def age(since: date, today: date) -> str:
    months = (today.year - since.year) * 12 + today.month - since.month - (today.day < since.day)
    years, months = divmod(max(months, 0), 12)
    return f"{years} year{'s' if years != 1 else ''} and {months} month{'s' if months != 1 else ''}"


@mcp.custom_route("/health", methods=["GET"])
async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "OK"})


@mcp.tool()
def get_employee_laptop_info(ctx: Context, employee_id: str = "") -> str:
    """Return the laptop details of an employee (the authenticated user by default)."""
    request = ctx.request_context.request
    user = request.headers.get("authoritative_user_id") if request is not None else None
    employee = by_key.get((user or employee_id).strip().lower())
    if employee is None:
        raise ValueError(f"No employee with id or email '{user or employee_id}' was found.")
    if user and employee_id and employee_id.lower() not in (employee["employee_id"].lower(), employee["email"].lower()):
        raise ValueError(f"employee_id '{employee_id}' names someone other than the authenticated user")
    lines = [
        f"Employee Name: {employee['name']}",
        f"Employee ID: {employee['employee_id']}",
        f"Employee Email: {employee['email']}",
        f"Employee Location: {employee['location']}",
    ]
    laptop = employee.get("laptop")
    if laptop:
        today = date.today()
        purchased = date.fromisoformat(laptop["purchase_date"])
        expiry = date.fromisoformat(laptop["warranty_expiry"])
        lines += [
            f"Laptop Model: {laptop['model']}",
            f"Laptop Serial Number: {laptop['serial_number']}",
            f"Laptop Purchase Date: {purchased}",
            f"Laptop Age: {age(purchased, today)}",
            f"Laptop Warranty Expiry Date: {expiry}",
            f"Laptop Warranty: {'Active' if expiry >= today else 'Expired'}",
        ]
    else:
        lines.append("Laptop: none assigned in the asset register")
    return "\n".join(lines)


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
