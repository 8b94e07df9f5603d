"""Settings of the window rollover and the alert email: `[rollover]` and `[mail]` tables.

The rollover closes aligned WIB windows (2 h on the hour by default) once their end plus a grace
period has passed and their files are final, or after a maximum wait. The mail settings keep the
original system's variable names (`ALERT_TO_EMAIL`, `ALERT_CC_EMAIL`, `ALERT_BCC_EMAIL`,
`ATTACH_BUDGET_BYTES`, `SES_FROM_EMAIL` as a fallback sender) and add the SMTP ones (`SMTP_HOST`,
`SMTP_PORT`, `SMTP_USER`, `SMTP_PASSWORD`, `SMTP_SECURITY`). The password is read from the
environment only and never shown in a representation of the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from daemon.config import SettingsReader
from daemon.errors import ConfigError

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_SENDER = "idxd@localhost"


@dataclass(frozen=True)
class RolloverSettings:
    enabled: bool = True
    period_s: int = 7200  # the email window; must divide a day
    grace_s: float = 900.0  # after a window's end, for late files to land
    max_wait_s: float = 6 * 3600.0  # after a window's end, it closes whatever is still pending
    tick_s: float = 60.0
    catch_up_days: float = 3.0  # windows older than this are not closed after a long outage
    with_pdfs: bool = False  # PDFs in the artifacts zip
    attach_budget_bytes: int = 7_500_000
    send_empty: bool = False  # a digest email even for a window with no alerts


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str | None = None  # None: the outbox is the only transport
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    security: str = "starttls"
    timeout_s: float = 30.0
    sender: str = DEFAULT_SENDER
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()

    @property
    def envelope_recipients(self) -> list[str]:
        return list(dict.fromkeys([*self.to, *self.cc, *self.bcc]))


def read_rollover_settings(document: Mapping[str, Any], env: Mapping[str, str]
                           ) -> RolloverSettings:
    reader = SettingsReader(document.get("rollover", {}), env, "rollover")
    base = RolloverSettings()
    return RolloverSettings(
        enabled=reader.get("enabled", base.enabled, "IDXD_ROLLOVER_ENABLED"),
        period_s=reader.get("period_s", base.period_s, "IDXD_ROLLOVER_PERIOD_S",
                            check=lambda v: v > 0 and 86400 % v == 0,
                            expected="a number of seconds that divides a day (7200 = 2 h)"),
        grace_s=reader.at_least_zero("grace_s", base.grace_s, "IDXD_ROLLOVER_GRACE_S"),
        max_wait_s=reader.at_least_zero("max_wait_s", base.max_wait_s, "IDXD_ROLLOVER_MAX_WAIT_S"),
        tick_s=reader.positive("tick_s", base.tick_s, "IDXD_ROLLOVER_TICK_S"),
        catch_up_days=reader.positive("catch_up_days", base.catch_up_days,
                                 "IDXD_ROLLOVER_CATCH_UP_DAYS"),
        with_pdfs=reader.get("with_pdfs", base.with_pdfs, "IDXD_ARTIFACTS_WITH_PDFS"),
        attach_budget_bytes=reader.at_least_zero("attach_budget_bytes", base.attach_budget_bytes,
                                       "ATTACH_BUDGET_BYTES"),
        send_empty=reader.get("send_empty", base.send_empty, "IDXD_EMAIL_SEND_EMPTY"),
    )


def read_mail_settings(document: Mapping[str, Any], env: Mapping[str, str]) -> MailSettings:
    table = document.get("mail", {})
    if "smtp_password" in table:
        raise ConfigError("The SMTP password must come from the environment variable "
                          "SMTP_PASSWORD, not from the configuration file.")
    reader = SettingsReader(table, env, "mail")
    security = reader.choice("security", "starttls", SECURITY_MODES, "SMTP_SECURITY")
    return MailSettings(
        smtp_host=reader.optional_str("smtp_host", "SMTP_HOST"),
        smtp_port=reader.get("smtp_port", DEFAULT_PORTS[security], "SMTP_PORT",
                             check=lambda v: 0 < v < 65536, expected="a TCP port number"),
        smtp_user=reader.optional_str("smtp_user", "SMTP_USER"),
        smtp_password=env.get("SMTP_PASSWORD") or None,
        security=security,
        timeout_s=reader.get("timeout_s", 30.0, "SMTP_TIMEOUT_S", check=lambda v: v > 0,
                             expected="a number greater than 0"),
        sender=_first(reader, "from", ("ALERT_FROM_EMAIL", "SES_FROM_EMAIL")) or DEFAULT_SENDER,
        to=_addresses(reader, "to", ("ALERT_TO_EMAIL", "ALERT_TO_EMAIL_INSERTED",
                                     "ALERT_TO_EMAIL_NOT_INSERTED")),
        cc=_addresses(reader, "cc", ("ALERT_CC_EMAIL", "ALERT_CC_EMAIL_INSERTED",
                                     "ALERT_CC_EMAIL_NOT_INSERTED")),
        bcc=_addresses(reader, "bcc", ("ALERT_BCC_EMAIL", "ALERT_BCC_EMAIL_INSERTED",
                                       "ALERT_BCC_EMAIL_NOT_INSERTED")),
    )


def _first(reader: SettingsReader, key: str, env_names: tuple[str, ...]) -> str | None:
    """The first variable set among `env_names` (the original's fallbacks), else the TOML key."""
    for name in env_names:
        value = reader.optional_str(f"\0{key}", name)  # "\0…" is never a TOML key
        if value:
            return value
    return reader.optional_str(key)


def _addresses(reader: SettingsReader, key: str, env_names: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list (or a TOML array) of addresses, each once, in order."""
    for name in env_names:
        raw = reader.env.get(name, "")
        if raw.strip():
            return _split(raw)
    value = reader.table.get(key)
    if value is None:
        return ()
    return _split(",".join(value) if isinstance(value, list | tuple) else str(value))


def _split(raw: str) -> tuple[str, ...]:
    addresses = [part.strip() for part in raw.split(",") if part.strip()]
    for address in addresses:
        if "@" not in address or any(ch.isspace() for ch in address):
            raise ConfigError(f"The e-mail address {address!r} in the alert recipients is not "
                              "valid.")
    return tuple(dict.fromkeys(addresses))
