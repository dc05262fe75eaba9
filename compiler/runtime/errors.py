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


def guard(fn, *args):
    """Map a model's complaints about its input to 422; anything else stays a server error."""
    try:
        return fn(*args)
    except HTTPError:
        raise
    except (ValueError, TypeError) as exc:
        raise HTTPError(422, f"the model rejected the input: {str(exc)[:300]}") from None
