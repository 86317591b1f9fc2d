"""Local fake platform servers for tests (real clients, real sockets on 127.0.0.1)."""
