"""Typed repositories, one per entity: the only place SQL for that entity lives.

Rules every repository follows: constructed with a `storage.Database` (never a global); returns attrs
records (never asyncpg rows); all SQL parameterised (identifiers are constants, never user input); user
actionable conflicts raise `storage.errors.AlreadyExists`, "no such row" on reads returns None.
"""

from storage.repositories.activity import ActivityStatsRepository, ActivityWriteModel
from storage.repositories.commands import (
    AuditLogRepository,
    CommandErrorRepository,
    CommandHistoryRepository,
    CommandSettingsRepository,
)
from storage.repositories.community import (
    CreatorLinkRepository,
    PasswordRepository,
    ReportRepository,
    SelfAssignableRoleRepository,
)
from storage.repositories.gallery import GalleryMigrationRepository, InvisibleTextRepository
from storage.repositories.guild_settings import GuildSettings, GuildSettingsRepository
from storage.repositories.links import LinkRepository
from storage.repositories.polls import PollRepository
from storage.repositories.preferences import UserPreferencesRepository
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.quotes import QuoteRepository

__all__ = [
    "ActivityStatsRepository",
    "ActivityWriteModel",
    "AuditLogRepository",
    "CommandErrorRepository",
    "CommandHistoryRepository",
    "CommandSettingsRepository",
    "CreatorLinkRepository",
    "GalleryMigrationRepository",
    "GuildSettings",
    "GuildSettingsRepository",
    "InvisibleTextRepository",
    "LinkRepository",
    "PasswordRepository",
    "PollRepository",
    "PrivacyRepository",
    "QuoteRepository",
    "ReportRepository",
    "SelfAssignableRoleRepository",
    "UserPreferencesRepository",
]
