"""Sentry error reporting: on when SENTRY_DSN is set, entirely off (nothing imported) without it.

The API reports through sentry-sdk's Flask integration and the worker through its Celery
integration; both also send ERROR log records (the API's 500 handler logs them), with no
personal data (request bodies, cookies and user ids stay out). The worker never imports the
Flask integration, which would load Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sentry_sdk.integrations import Integration

    from backend.settings import Settings

Component = Literal["api", "worker"]


def _integrations(component: Component) -> list[Integration]:
    if component == "api":
        from sentry_sdk.integrations.flask import FlaskIntegration  # noqa: PLC0415 - API only

        return [FlaskIntegration()]
    from sentry_sdk.integrations.celery import CeleryIntegration  # noqa: PLC0415 - worker only

    return [CeleryIntegration()]


def init_error_reporting(settings: Settings, component: Component) -> bool:
    """Start Sentry for this process if SENTRY_DSN is set; True when it is on."""
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk  # noqa: PLC0415 - only processes that report load it

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.app_env,
        integrations=_integrations(component),
        auto_enabling_integrations=False,  # only ours: the API sends tasks but runs none
        send_default_pii=False,
        traces_sample_rate=0.0,
    )
    sentry_sdk.get_global_scope().set_tag("component", component)
    return True
