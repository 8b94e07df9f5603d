"""The pipeline's settings: one frozen object built from the TOML file and the environment.

Each area (ingest, download, parse, filings, sink, mail, company map, rollover) owns its
settings dataclass and reader in its own module; this module only composes them. Variable
names of the original system (`SUPABASE_URL`, `ALERT_TO_EMAIL`, `PROXY`, …) are kept so its
operators can move over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.adapters.company_source import CompanyMapSettings, read_company_map_settings
from handlers.adapters.http import HttpSettings, read_http_settings
from handlers.filings_config import FilingsSettings, read_filings_settings
from handlers.jobs.ingest import IngestSettings, read_ingest_settings
from handlers.rollover_settings import (
    MailSettings,
    RolloverSettings,
    read_mail_settings,
    read_rollover_settings,
)
from handlers.stages.download import DownloadSettings, read_download_settings


@dataclass(frozen=True)
class PipelineSettings:
    """Filled in by `load_pipeline_settings`; each field is one area's settings."""

    filings: FilingsSettings = field(default_factory=FilingsSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    download: DownloadSettings = field(default_factory=DownloadSettings)
    company_map: CompanyMapSettings = field(default_factory=CompanyMapSettings)
    rollover: RolloverSettings = field(default_factory=RolloverSettings)
    mail: MailSettings = field(default_factory=MailSettings)


def load_pipeline_settings(document: Mapping[str, Any], env: Mapping[str, str]) -> PipelineSettings:
    return PipelineSettings(
        filings=read_filings_settings(document, env),
        http=read_http_settings(document, env),
        ingest=read_ingest_settings(document, env),
        download=read_download_settings(document, env),
        company_map=read_company_map_settings(document, env),
        rollover=read_rollover_settings(document, env),
        mail=read_mail_settings(document, env),
    )
