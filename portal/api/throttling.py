from rest_framework.throttling import SimpleRateThrottle

__all__ = ["ActorRateThrottle"]


class ActorRateThrottle(SimpleRateThrottle):
    """Requests per API key or user; anonymous callers by IP at the ``anon`` rate."""

    scope = "actor"

    def get_cache_key(self, request, view):
        actor = getattr(request._request, "actor", None)
        if actor is not None and actor.api_key is not None:
            ident = f"key:{actor.api_key.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            self.scope = "anon"
            self.rate = self.get_rate()
            self.num_requests, self.duration = self.parse_rate(self.rate)
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"
