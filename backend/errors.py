"""The service's exception tree; every leaf that ends a job carries a stable code.

    ScraperError
    ├── ConfigError                 bad settings: the process refuses to start
    ├── JobFailedError              the job ends `failed` with `code` (never retried)
    │   ├── InvalidUrlError         invalid_url
    │   ├── BlockedUrlError         blocked_url   (private, loopback, metadata address)
    │   ├── FetchFailedError        fetch_failed  (DNS, refused, reset, TLS)
    │   ├── HttpStatusError         http_error    (the page answered 4xx/5xx)
    │   ├── NotHtmlError            not_html
    │   ├── PageTooLargeError       page_too_large
    │   └── FetchTimeoutError       timeout
    ├── ImageRejectedError          one image is skipped or failed, with `reason`
    ├── TransientError              infrastructure hiccup: retry the job later
    │   ├── StorageError            object storage unreachable or refused the call
    │   └── BrokerUnavailableError  the task could not be handed to the broker
    │       └── BrokerCertificateError  … because its TLS certificate is not trusted
    ├── JobCancelledError           the job was cancelled while it ran
    ├── NotFoundError               an id that is unknown or belongs to someone else
    ├── ConflictError               the request contradicts the resource's current state
    ├── IllegalTransitionError      a job status change backend.job_transitions does not allow (a bug)
    └── TooManyJobsError            the caller already has MAX_OUTSTANDING_JOBS queued or running

"Could not reach it" (TransientError) is retried; "it answered no" (JobFailedError)
fails the job at once with its code.
"""

from __future__ import annotations

# Process exit codes (sysexits.h), the same in every start script and command.
EX_CONFIG = 78  # a setting that can never work: restarting will not help
EX_UNAVAILABLE = 69  # a dependency did not come up in time: a restart may


class ScraperError(Exception):
    """Base of every error this service raises on purpose."""


class ConfigError(ScraperError):
    """A setting is missing or invalid; the message is one line naming the variable."""


class JobFailedError(ScraperError):
    """The job cannot succeed; `code` is the stable error code the API returns."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidUrlError(JobFailedError):
    code = "invalid_url"


class BlockedUrlError(JobFailedError):
    code = "blocked_url"


class FetchFailedError(JobFailedError):
    code = "fetch_failed"


class HttpStatusError(JobFailedError):
    code = "http_error"


class NotHtmlError(JobFailedError):
    code = "not_html"


class PageTooLargeError(JobFailedError):
    code = "page_too_large"


class FetchTimeoutError(JobFailedError):
    code = "timeout"


class ImageRejectedError(ScraperError):
    """One candidate image was not kept; `reason` is a short stable word.

    `failed` separates images that broke (download error, undecodable bytes) from
    ones skipped on purpose (too small, junk, duplicate).
    """

    def __init__(self, reason: str, detail: str = "", *, failed: bool = False) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.failed = failed


class TransientError(ScraperError):
    """A dependency was unreachable; the work may succeed if tried again later."""


class StorageError(TransientError):
    """Object storage failed; raised with the vendor error as its cause."""


class BrokerUnavailableError(TransientError):
    """The broker (Redis) did not take the message; the job row stays queued for the sweep."""


class BrokerCertificateError(BrokerUnavailableError):
    """The broker's TLS certificate failed verification (self-signed, wrong CA, wrong host name)."""


class JobCancelledError(ScraperError):
    """The job was cancelled by its owner while a worker was running it."""


class NotFoundError(ScraperError):
    """An unknown id, or one owned by another user (the two look the same)."""


class ConflictError(ScraperError):
    """The request contradicts current state: cancelling a finished job, reusing an Idempotency-Key."""


class IllegalTransitionError(ScraperError):
    """A change of a job's status that the transition table refuses; our bug, never the client's."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a job cannot go from {current} to {target}")
        self.current = current
        self.target = target


class TooManyJobsError(ScraperError):
    """The caller already has as many queued and running jobs as MAX_OUTSTANDING_JOBS allows."""

    def __init__(self, outstanding: int, limit: int) -> None:
        super().__init__(
            f"You have {outstanding} jobs queued or running; the limit is {limit}. "
            "Submit more once some have finished, or cancel some."
        )
        self.outstanding = outstanding
        self.limit = limit
