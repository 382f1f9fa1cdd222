//! The request API: sessions, requests, agent hand-off, health, readiness and metrics.
