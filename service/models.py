"""Every HTTP body as a msgspec struct (requests with their shape checks, responses, problem+json errors)."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal, get_args
from uuid import UUID

import msgspec
from litestar.exceptions import ValidationException

CheckStatus = Literal["up", "down"]


class Check(msgspec.Struct, kw_only=True):
    """The state of one dependency as /health saw it."""

    status: CheckStatus
    latency_ms: float | None = None


class HealthReport(msgspec.Struct, kw_only=True):
    """200 while recommendations can be served (ok or degraded), 503 when they cannot (down)."""

    status: Literal["ok", "degraded", "down"]
    checks: dict[str, Check]


Gender = Literal["m", "f"]
AgeGroup = Literal["under-18", "18-24", "25-34", "35-44", "45-54", "55+"]
AGE_GROUPS: tuple[str, ...] = get_args(AgeGroup)
Tier = Literal["popular", "content_based", "collaborative"]
Price = Annotated[float, msgspec.Meta(ge=0, le=10_000_000, description="Price, in the catalogue's currency.")]
GeoId = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647, description="Region id, as Rails has it.")]
# Category and platform names: words, spaces and a few joiners; quotes, semicolons, parentheses
# and other punctuation are refused with a 422 naming the field.
ShortText = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=r"^[\w][\w &./,+-]*$",
        description="A name: letters, digits, spaces and & . / , + - _",
    ),
]
Locale = Annotated[
    str,
    msgspec.Meta(
        min_length=2,
        max_length=35,
        pattern=r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$",
        description="A language tag, e.g. en or pt-BR.",
    ),
]
GenderText = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\s*([mMfF]|[mM][aA][lL][eE]|[fF][eE][mM][aA][lL][eE])\s*$",
        description="m, f, male or female, in any case.",
    ),
]
Age = Annotated[int, msgspec.Meta(ge=0, le=130, description="Age in years.")]
UuidText = Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]


def parse_uuid(value: str, field: str, source: str = "body") -> UUID:
    """A uuid, or a 422 that names the field."""
    try:
        return UUID(value)
    except ValueError:
        raise ValidationException(
            f"{field} must be a uuid",
            extra=[{"key": field, "message": f"must be a uuid, got {value[:64]!r}", "source": source}],
        ) from None


def normalize_gender(value: str | None) -> Gender | None:
    """m/f/male/female in any case to 'm'/'f'; anything else is a ValueError naming the values."""
    if value is None:
        return None
    normalized = {"m": "m", "male": "m", "f": "f", "female": "f"}.get(value.strip().lower())
    if normalized is None:
        raise ValueError(f"gender must be m, f, male or female (any case), got {value!r}")
    return normalized  # type: ignore[return-value]


def age_group_of_age(age: int) -> AgeGroup:
    """The age group of an age in years."""
    for bound, group in ((18, "under-18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54")):
        if age < bound:
            return group  # type: ignore[return-value]
    return "55+"


def normalize_age_group(value: str | int | None) -> AgeGroup | None:
    """An age group name, or an age in years turned into its group."""
    if value is None:
        return None
    if isinstance(value, int):
        if not 0 <= value <= 130:
            raise ValueError(f"age must be between 0 and 130, got {value}")
        return age_group_of_age(value)
    if value not in AGE_GROUPS:
        raise ValueError(f"age group must be one of {', '.join(AGE_GROUPS)}, got {value!r}")
    return value  # type: ignore[return-value]


class UserParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who the recommendations are for; every field optional."""

    gender: GenderText | None = msgspec.field(default=None)
    age: AgeGroup | Age | None = None
    age_group: AgeGroup | None = None
    category: ShortText | None = None
    geo_id: GeoId | None = None

    def __post_init__(self) -> None:
        """Normalise gender (male -> m) and the age (a group name or years)."""
        self.gender = normalize_gender(self.gender)
        if self.age is not None and self.age_group is not None:
            raise ValueError("give either age or age_group, not both")
        self.age_group = normalize_age_group(self.age if self.age is not None else self.age_group)
        self.age = None


class Filters(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Restrictions applied before ranking; unknown category or platform simply match nothing."""

    price_from: Price | None = None
    price_to: Price | None = None
    category: ShortText | None = None
    platform: ShortText | None = None

    def __post_init__(self) -> None:
        """price_from must not exceed price_to."""
        if self.price_from is not None and self.price_to is not None and self.price_from > self.price_to:
            raise ValueError(f"price_from ({self.price_from}) must be <= price_to ({self.price_to})")


class PageRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which page; limit defaults to DEFAULT_PAGE_SIZE and may not exceed MAX_PAGE_SIZE."""

    page: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    limit: Annotated[int, msgspec.Meta(ge=1)] | None = None


class PopularRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /popular body (the Rails client's shape)."""

    user_params: UserParams = msgspec.field(default_factory=UserParams)
    filters: Filters = msgspec.field(default_factory=Filters)
    pagination: PageRequest = msgspec.field(default_factory=PageRequest)


class Pagination(msgspec.Struct, kw_only=True):
    """Where this page sits in the whole ranking."""

    page: int
    limit: int
    total_pages: int
    total_items: int
    has_next: bool
    has_previous: bool


class RecommendationResponse(msgspec.Struct, kw_only=True):
    """A page of recommended present ids and how it was produced."""

    items: list[str]
    pagination: Pagination
    computation_time_ms: float
    algorithm_used: str
    cache_hit: bool
    fallback_level: str | None = None
    data_as_of: datetime.datetime | None = None


class PopularResponse(RecommendationResponse, kw_only=True):
    """A popular page, with every segment level that contributed to it."""

    levels_used: list[str] = msgspec.field(default_factory=list)


class DemographicsRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """PUT /user-profile/{user_id} body: the user's demographics as Rails knows them."""

    gender: GenderText | None = None
    age_group: AgeGroup | None = None
    birth_date: datetime.date | None = None
    locale: Locale | None = None
    geo_id: GeoId | None = None

    def __post_init__(self) -> None:
        """Normalise gender; check the age group and the birth date."""
        self.gender = normalize_gender(self.gender)
        self.age_group = normalize_age_group(self.age_group)
        earliest, today = datetime.date(1900, 1, 1), datetime.date.today()
        if self.birth_date is not None and not earliest <= self.birth_date <= today:
            raise ValueError("birth_date must be between 1900-01-01 and today")


class Demographics(msgspec.Struct, kw_only=True):
    """Stored demographics of a user."""

    gender: str | None
    age_group: str | None
    birth_date: datetime.date | None
    locale: str | None
    geo_id: int | None
    updated_at: datetime.datetime


class PriceBand(msgspec.Struct, kw_only=True):
    """25th and 75th percentile of the prices of the user's presents."""

    p25: float
    p75: float


class Preferences(msgspec.Struct, kw_only=True):
    """The preference profile from the last profile refresh (interactions on public presents)."""

    interactions: int
    likes: int
    clicks: int
    categories: dict[str, float]
    platforms: list[str]
    price_band: PriceBand | None
    last_activity_at: datetime.datetime | None
    neighbors: int


class UserProfile(msgspec.Struct, kw_only=True):
    """Everything the service knows about a user, and the tier that would serve them now."""

    user_id: str
    demographics: Demographics | None
    preferences: Preferences
    tier: Tier
    profile_as_of: datetime.datetime | None


class PersonalizedRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /personalized body (the Rails client's shape, plus an optional exclude list)."""

    user_id: UuidText
    geo_id: GeoId | None = None
    filters: Filters = msgspec.field(default_factory=Filters)
    pagination: PageRequest = msgspec.field(default_factory=PageRequest)
    exclude: Annotated[list[UuidText], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)


class PersonalizedResponse(RecommendationResponse, kw_only=True):
    """A personalised page: which tiers filled it and whether unsynced interactions were checked."""

    tiers_used: list[str] = msgspec.field(default_factory=list)
    interactions: int = 0
    degraded: bool = False


# --- operations: /admin/jobs, /stats -------------------------------------------------------------


class JobRun(msgspec.Struct, kw_only=True):
    """One logged run of a job: succeeded, failed (error_code: its SQLSTATE; the error's text stays
    in recs.job_runs), or skipped because another run of the job was in progress."""

    run_id: int
    job: str
    status: Literal["succeeded", "failed", "skipped"]
    started_at: datetime.datetime
    duration_ms: float | None
    rows: int | None
    error_code: str | None


class JobStatus(msgspec.Struct, kw_only=True):
    """A job: its last logged run (null fields if it never ran; error_code is the SQLSTATE of a
    failed one), the runs, failures and skipped runs the log keeps, its pg_cron schedule and next
    start, and pg_cron's own last outcome (null where pg_cron does not run it here, or its database
    could not be read)."""

    job: str
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    duration_ms: float | None
    rows: int | None
    error_code: str | None
    runs: int
    failures: int
    skipped: int
    cron_jobname: str | None
    schedule: str | None
    scheduled: bool | None
    next_run_at: datetime.datetime | None
    cron_last_status: str | None
    cron_last_started_at: datetime.datetime | None


class SequenceUsage(msgspec.Struct, kw_only=True):
    """How far one sequence of the recs schema has come towards its limit."""

    sequence_name: str
    last_value: int | None
    max_value: int
    used: float


class LatencySummary(msgspec.Struct, kw_only=True):
    """Requests one route and algorithm answered, and the latency of the most recent ones."""

    route: str
    algorithm: str
    requests: int
    p50_ms: float | None
    p95_ms: float | None
    latency_samples: int


class CacheSummary(msgspec.Struct, kw_only=True):
    """Cache lookups of one kind (or of all kinds); errors are lookups Redis did not answer."""

    hits: int
    misses: int
    errors: int
    hit_rate: float | None


class MainTotals(msgspec.Struct, kw_only=True):
    """The main database's totals as the last sync counted them (null before the first sync)."""

    public_presents: int | None = None
    private_presents: int | None = None
    likes: int | None = None
    clicks: int | None = None


class UserCounts(msgspec.Struct, kw_only=True):
    """Users with synced demographics, with a preference profile, and with neighbours."""

    with_demographics: int
    with_profile: int
    with_neighbors: int | None


class Stats(msgspec.Struct, kw_only=True):
    """What the service holds, how fresh it is, and how it is used (every worker counted)."""

    main_totals: MainTotals
    main_totals_counted_at: datetime.datetime | None
    derived_rows: dict[str, int | None]
    users: UserCounts
    jobs: list[JobStatus]
    telemetry_available: bool
    counting_since: datetime.datetime | None
    cache: CacheSummary
    cache_by_kind: dict[str, CacheSummary]
    requests: list[LatencySummary]


# --- errors: every 4xx/5xx body -----------------------------------------------------------------


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid field of a request."""

    field: str | None
    message: str | None
    # "in" is a keyword in Python: the attribute is renamed, the JSON key is not.
    location: str | None = msgspec.field(default=None, name="in")


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem+json body, as every error response carries."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
