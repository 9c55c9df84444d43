"""Provider-agnostic resilience: pools with failover, the TTL cache, provider health."""
