"""The composition root: builds every stateful object once and closes them in reverse.

The API's lifespan, the CLI and the tests all enter `build(settings)`; nothing else creates
HTTP clients, pools, caches or background tasks.

- `root`: `build`, the order things are made in;
- `checks`: what start-up refuses (`check_settings`, run before a server binds its port);
- `resources`: the simulator in mock mode, the HTTP client, the database engine;
- `providers`: providers in priority order, their guards, a pool per capability;
- `services`: the services' shared context, the recorder, the live-update hub and its feeds;
- `collectors`: the leader's background jobs and the webhook notifier;
- `container`: `Container`, what `build` yields;
- `tasks`: the shared wall clock and periodic background tasks.
"""

from cryptoagg.bootstrap.checks import check_settings
from cryptoagg.bootstrap.container import Container
from cryptoagg.bootstrap.root import build

__all__ = ["Container", "build", "check_settings"]
