"""The one error a harvest raises: the source failed, not the platform; its URL is shown masked."""

from __future__ import annotations

from quality.url_mask import mask_url, mask_urls_in


class HarvestError(Exception):
    """A feed could not be fetched; the message names the (masked) source URL and the cause."""

    def __init__(self, url: str, cause: str) -> None:
        self.url = mask_url(url)
        # Causes quote libraries and servers, which echo the URLs they were given.
        self.cause = mask_urls_in(cause)
        super().__init__(f"{self.url}: {cause}")
