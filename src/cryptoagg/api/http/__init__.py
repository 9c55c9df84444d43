"""The ASGI plumbing: security headers, request limits, rate limit, header timeout, hot path,
error handlers, mock marker, GC pauses and metrics."""
