"""HTTP errors raised by request handlers; the app turns them into JSON responses."""


class HTTPError(Exception):
    """A client-visible error with an HTTP status and a message (never a traceback)."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class ConfigError(Exception):
    """The image config or deployment environment is invalid (the server refuses to start)."""
