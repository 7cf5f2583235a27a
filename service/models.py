"""Every HTTP body as a msgspec struct (requests with their shape checks, responses, problem+json errors)."""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Literal, get_args
from uuid import UUID

import msgspec
from litestar.exceptions import ValidationException

CheckStatus = Literal["up", "down"]


def rounded(value: float | None, digits: int = 3) -> float | None:
    """A measured number as JSON carries it: a few decimals, no float noise (58.187000000000005)."""
    return None if value is None else round(value, digits)


class Check(msgspec.Struct, kw_only=True):
    """The state of one dependency as /health saw it."""

    status: CheckStatus
    latency_ms: float | None = None

    def __post_init__(self) -> None:
        """Round the latency."""
        self.latency_ms = rounded(self.latency_ms, 2)


class ReplicaCheck(msgspec.Struct, kw_only=True):
    """A hot standby of the recs DB as this worker's last check saw it (RECOMMENDATIONS_REPLICA_URLS):
    reads go to it while `up`; `lagging` (behind the primary by more than REPLICA_MAX_LAG_MS), `down`
    (no answer, or failed under a read) and `not_standby` (not in recovery) are skipped."""

    name: str
    status: Literal["up", "lagging", "down", "not_standby", "unchecked"]
    lag_ms: float | None = None

    def __post_init__(self) -> None:
        """Round the lag."""
        self.lag_ms = rounded(self.lag_ms, 1)


class HealthReport(msgspec.Struct, kw_only=True):
    """200 while recommendations can be served (ok or degraded), 503 when they cannot (down)."""

    status: Literal["ok", "degraded", "down"]
    checks: dict[str, Check]
    replicas: list[ReplicaCheck] = msgspec.field(default_factory=list)


Gender = Literal["m", "f"]
AgeGroup = Literal["under-18", "18-24", "25-34", "35-44", "45-54", "55+"]
AGE_GROUPS: tuple[str, ...] = get_args(AgeGroup)
Tier = Literal["popular", "content_based", "collaborative"]
# The popularity level that served an item (api.popular's fallback chain, recs.rank_popular).
Level = Literal["exact", "gender", "age_group", "global"]
# The level that served an item of a similar page (api.similar): the present's item neighbours,
# then its category by popularity, then popularity.
SimilarLevel = Literal["co_liked", "same_category", "popular"]
# Every job POST /admin/jobs/{job} runs: the recs.job_<name> functions (a test keeps both lists equal).
JobName = Literal[
    "cleanup",
    "erase_absent_users",
    "purge_cron_history",
    "refresh_item_neighbors",
    "refresh_learned_weights",
    "refresh_popular_items",
    "refresh_user_profiles",
    "refresh_user_similarities",
    "withdraw_presents",
]
JOB_NAMES: tuple[str, ...] = get_args(JobName)
Price = Annotated[float, msgspec.Meta(ge=0, le=10_000_000, description="Price, in the catalogue's currency.")]
GeoId = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647, description="Region id, as Rails has it.")]
# Category and platform names as the catalogue holds them (GET /facets lists them): any text of 1
# to 1000 characters but NUL, which PostgreSQL text cannot hold, so every name the catalogue has
# is one a filter takes (quotes, brackets, tabs included: Rails' names are free text, and a name
# reaches SQL as a parameter, never as SQL).
ShortText = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=1000,
        pattern=r"^[^\x00]+$",
        description="A name as the catalogue has it (GET /facets lists them): any characters but NUL.",
        examples=["books"],
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
# Accepted spellings of a gender; stored and answered as m or f.
GenderText = Literal["m", "f", "male", "female", "M", "F", "Male", "Female", "MALE", "FEMALE"]
Age = Annotated[int, msgspec.Meta(ge=0, le=130, description="Age in years.")]
# GET /metrics: Prometheus' text format (what every Prometheus version scrapes); Litestar adds
# "; charset=utf-8" to the header.
METRICS_MEDIA_TYPE = "text/plain; version=0.0.4"
# A uuid as Rails writes it; ids in paths and queries are held to it too (Python's UUID() also takes
# braces, a urn: prefix or no hyphens).
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# In responses: a present's, user's or response's id, and a time with its offset (RFC 3339), so
# that the schema tells a generated client to parse them (uuid, date-time).
ResponseUuid = Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
Timestamp = Annotated[datetime.datetime, msgspec.Meta(tz=True)]
_UUID_TEXT = re.compile(UUID_PATTERN)
UuidText = Annotated[
    str,
    msgspec.Meta(
        pattern=UUID_PATTERN,
        description="A uuid: 32 hex digits in groups of 8-4-4-4-12.",
        extra_json_schema={"format": "uuid"},
        examples=["8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11"],
    ),
]


def parse_uuid(value: str, field: str, source: str = "body") -> UUID:
    """A uuid written 8-4-4-4-12, or a 422 that names the field."""
    if _UUID_TEXT.fullmatch(value) is None:
        raise ValidationException(
            f"{field} must be a uuid",
            extra=[{"key": field, "message": f"must be a uuid, got {value[:64]!r}", "source": source}],
        )
    return UUID(value)


def normalize_gender(value: str | None) -> Gender | None:
    """An accepted spelling (GenderText) to 'm'/'f'; anything else is a ValueError naming the values."""
    if value is None:
        return None
    normalized = {"m": "m", "male": "m", "f": "f", "female": "f"}.get(value.lower())
    if normalized is None:
        raise ValueError(f"gender must be m, f, male or female, got {value!r}")
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
        """Normalise gender (male -> m) and the age (a group name or years; age wins over age_group)."""
        self.gender = normalize_gender(self.gender)
        self.age_group = normalize_age_group(self.age if self.age is not None else self.age_group)
        self.age = None


Names = Annotated[list[ShortText], msgspec.Meta(max_length=100)]


class Filters(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Restrictions applied before ranking. Categories and platform match the catalogue's names
    case-insensitively; a present passes when its category is `category` or one of `categories`
    (when either is given) and is none of `exclude_categories`. A name that matches no available
    present matches nothing and is named in the response's `warnings`; a price_from above price_to
    matches nothing."""

    price_from: Price | None = None
    price_to: Price | None = None
    category: ShortText | None = None
    categories: Names | None = None
    exclude_categories: Names | None = None
    platform: ShortText | None = None

    def category_lists(self) -> tuple[list[str] | None, list[str] | None]:
        """categories and exclude_categories as the SQL functions take them: sorted, without
        repeats, None when empty (so equal requests share a cache key)."""
        return _names(self.categories), _names(self.exclude_categories)


def _names(values: list[str] | None) -> list[str] | None:
    return sorted(set(values)) if values else None


class PageRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which page; limit defaults to DEFAULT_PAGE_SIZE and may not exceed MAX_PAGE_SIZE."""

    page: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    limit: Annotated[int, msgspec.Meta(ge=1)] | None = None


Exclude = Annotated[list[UuidText], msgspec.Meta(max_length=1000, description="Present ids to leave out.")]
MaxPerCategory = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=1000,
        description=(
            "At most this many presents of one category per page (presents without a category count "
            "as one more category); the ranking is spread over the pages before paginating, so pages "
            "stay consistent. Absent: no cap."
        ),
    ),
]


class PageOptions(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What every recommendation request may add to say which page it wants: filters, pagination,
    presents to leave out, a cap per category, and whether to explain the page."""

    filters: Filters = msgspec.field(default_factory=Filters)
    pagination: PageRequest = msgspec.field(default_factory=PageRequest)
    exclude: Exclude = msgspec.field(default_factory=list)
    max_per_category: MaxPerCategory | None = None
    explain: Annotated[
        bool, msgspec.Meta(description="true: `details` says why each present is on the page.")
    ] = False


class PopularRequest(PageOptions, kw_only=True, forbid_unknown_fields=True):
    """POST /popular body (the Rails client's shape, plus the page options)."""

    user_params: UserParams = msgspec.field(default_factory=UserParams)


class Pagination(msgspec.Struct, kw_only=True):
    """Where this page sits in the whole ranking."""

    page: int
    limit: int
    total_pages: int
    total_items: int
    has_next: bool
    has_previous: bool


class FilterWarning(msgspec.Struct, kw_only=True):
    """A filter value that matches no available present (the page is then empty of it)."""

    field: str
    value: str
    message: str


class Reason(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Why a present is on the page: a code and its parameters (the others absent).

    similar_users (count): users like this one liked it; liked_with (present_ids): people who took
    those presents of the user (or the present asked about) took it too; category_affinity
    (category): the category of presents the user took; same_category (category): the category of
    the present asked about; popular_in_segment (level, gender, age_group): popular in that
    demographic segment (null attributes: any)."""

    code: Literal["similar_users", "liked_with", "category_affinity", "same_category", "popular_in_segment"]
    count: int | None = None
    present_ids: list[ResponseUuid] | None = None
    category: str | None = None
    level: Level | None = None
    gender: Gender | None = None
    age_group: AgeGroup | None = None


class Detail(msgspec.Struct, kw_only=True):
    """One present of an explained page: its id, the strength of its first reason, its reasons."""

    id: ResponseUuid
    score: float
    reasons: list[Reason]


class RecommendationResponse(msgspec.Struct, kw_only=True):
    """A page of recommended present ids and how it was produced."""

    items: list[ResponseUuid]
    pagination: Pagination
    computation_time_ms: float
    algorithm_used: Tier
    cache_hit: bool
    recommendation_id: ResponseUuid  # this response's id (uuid v7, time-ordered): its recs.served_pages row
    variant: str | None  # the user's experiment variant (recs.experiment_variants); null: none
    fallback_level: Level | None = None
    data_as_of: Timestamp | None = None
    warnings: list[FilterWarning] = msgspec.field(default_factory=list)
    details: list[Detail] | None = None


class PopularResponse(RecommendationResponse, kw_only=True):
    """A popular page, with every segment level that contributed to it."""

    algorithm_used: Literal["popular"]
    levels_used: list[Level] = msgspec.field(default_factory=list)


class DemographicsRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """PUT /user-profile/{user_id} body: the user's demographics as Rails knows them."""

    gender: GenderText | None = None
    age_group: AgeGroup | None = None
    birth_date: datetime.date | None = None
    locale: Locale | None = None
    geo_id: GeoId | None = None

    def __post_init__(self) -> None:
        """Normalise gender (male -> m)."""
        self.gender = normalize_gender(self.gender)


class DemographicsPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """PATCH /user-profile/{user_id} body, a JSON merge patch (RFC 7396) of the demographics: a field
    left out keeps its stored value, null clears it. A birth_date without an age_group sets the age
    group from the birth date."""

    gender: GenderText | msgspec.UnsetType | None = msgspec.UNSET
    age_group: AgeGroup | msgspec.UnsetType | None = msgspec.UNSET
    birth_date: datetime.date | msgspec.UnsetType | None = msgspec.UNSET
    locale: Locale | msgspec.UnsetType | None = msgspec.UNSET
    geo_id: GeoId | msgspec.UnsetType | None = msgspec.UNSET

    def __post_init__(self) -> None:
        """Normalise gender (male -> m)."""
        if isinstance(self.gender, str):
            self.gender = normalize_gender(self.gender)

    def changes(self) -> dict[str, object]:
        """The fields the patch sets (None: clear), as JSON values (a date as YYYY-MM-DD)."""
        return {
            name: value.isoformat() if isinstance(value, datetime.date) else value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not msgspec.UNSET
        }


class Demographics(msgspec.Struct, kw_only=True):
    """Stored demographics of a user."""

    gender: Gender | None
    age_group: AgeGroup | None
    birth_date: datetime.date | None
    locale: str | None
    geo_id: int | None
    updated_at: Timestamp


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
    last_activity_at: Timestamp | None
    neighbors: int


class UserProfile(msgspec.Struct, kw_only=True):
    """Everything the service knows about a user, and the tier that would serve them now."""

    user_id: ResponseUuid
    demographics: Demographics | None
    preferences: Preferences
    tier: Tier
    profile_as_of: Timestamp | None


class PersonalizedRequest(PageOptions, kw_only=True, forbid_unknown_fields=True):
    """POST /personalized body (the Rails client's shape, plus the page options)."""

    user_id: UuidText
    geo_id: GeoId | None = None


class SimilarRequest(PageOptions, kw_only=True, forbid_unknown_fields=True):
    """POST /similar body: presents like one present; with user_id, none that user took."""

    present_id: UuidText
    user_id: UuidText | None = None
    geo_id: GeoId | None = None


class SimilarResponse(msgspec.Struct, kw_only=True):
    """A page of presents like the asked one, and the levels that filled it (co_liked: its item
    neighbours; same_category: its category by popularity; popular: popularity)."""

    items: list[ResponseUuid]
    pagination: Pagination
    computation_time_ms: float
    algorithm_used: Literal["similar"]
    cache_hit: bool
    recommendation_id: ResponseUuid  # this response's id (uuid v7, time-ordered): its recs.served_pages row
    variant: str | None  # with user_id, the user's experiment variant; else null
    fallback_level: SimilarLevel | None = None
    data_as_of: Timestamp | None = None
    warnings: list[FilterWarning] = msgspec.field(default_factory=list)
    details: list[Detail] | None = None
    levels_used: list[SimilarLevel] = msgspec.field(default_factory=list)
    degraded: bool = False


class FeedbackRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /feedback body: what a user said about a present (`dismiss`: not interested)."""

    user_id: UuidText
    present_id: UuidText
    kind: Literal["dismiss"]


class Feedback(msgspec.Struct, kw_only=True):
    """A stored dismissal: from when, and until when (null: for ever, the dismissal_days setting 0)."""

    user_id: ResponseUuid
    present_id: ResponseUuid
    kind: Literal["dismiss"] = "dismiss"
    dismissed_at: Timestamp
    expires_at: Timestamp | None


class PersonalizedResponse(RecommendationResponse, kw_only=True):
    """A personalised page: which tiers filled it and whether unsynced interactions were checked."""

    tiers_used: list[Tier] = msgspec.field(default_factory=list)
    interactions: int = 0
    degraded: bool = False


class FacetValue(msgspec.Struct, kw_only=True):
    """A category or platform, spelled as the catalogue has it, and its available public presents."""

    name: str
    presents: int


class PriceQuantiles(msgspec.Struct, kw_only=True):
    """Prices of the available public presents: lowest, quantiles, highest."""

    min: float
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    max: float


class Facets(msgspec.Struct, kw_only=True):
    """GET /facets: what the filters can take, for a filter UI (as of the last popularity refresh)."""

    categories: list[FacetValue]
    platforms: list[FacetValue]
    prices: PriceQuantiles | None
    available_presents: int
    data_as_of: Timestamp | None


# --- operations: /admin/jobs, /stats -------------------------------------------------------------


class JobRun(msgspec.Struct, kw_only=True):
    """One logged run of a job: succeeded, failed (error_code: its SQLSTATE; the error's text stays
    in recs.job_runs), or skipped because another run of the job was in progress."""

    run_id: int
    job: JobName
    status: Literal["succeeded", "failed", "skipped"]
    started_at: Timestamp
    duration_ms: float | None
    rows: int | None
    error_code: str | None

    def __post_init__(self) -> None:
        """Round the duration."""
        self.duration_ms = rounded(self.duration_ms)


class JobStatus(msgspec.Struct, kw_only=True):
    """A job: its last logged run (null fields if it never ran; error_code is the SQLSTATE of a
    failed one), the runs, failures and skipped runs the log keeps, its pg_cron schedule and next
    start, pg_cron's own last outcome (null where pg_cron does not run it here, or its database
    could not be read), and when a run in progress began (null when none runs)."""

    job: str  # a recs job, or another pg_cron job of this database (its name, or cron-job-<id>)
    started_at: Timestamp | None
    finished_at: Timestamp | None
    duration_ms: float | None
    rows: int | None
    error_code: str | None
    runs: int
    failures: int
    skipped: int
    cron_jobname: str | None
    schedule: str | None
    scheduled: bool | None
    next_run_at: Timestamp | None
    cron_last_status: str | None
    cron_last_started_at: Timestamp | None
    running_since: Timestamp | None

    def __post_init__(self) -> None:
        """Round the duration."""
        self.duration_ms = rounded(self.duration_ms)


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

    def __post_init__(self) -> None:
        """Round the latencies."""
        self.p50_ms, self.p95_ms = rounded(self.p50_ms), rounded(self.p95_ms)


class CacheSummary(msgspec.Struct, kw_only=True):
    """Cache lookups of one kind (or of all kinds); errors are lookups Redis did not answer."""

    hits: int
    misses: int
    errors: int
    hit_rate: float | None

    def __post_init__(self) -> None:
        """Round the hit rate."""
        self.hit_rate = rounded(self.hit_rate, 4)


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


class OnlineRate(msgspec.Struct, kw_only=True):
    """Click- and like-through of the recorded pages of known users for one route, algorithm,
    experiment and variant, summed from the hourly counters recs.online_hourly (api.online_rates),
    with 95 % Wilson intervals."""

    route: str
    algorithm: str
    experiment: str | None
    variant: str | None
    pages: int
    impressions: int
    open_impressions: int  # served less than online_attribution_hours ago: clicks may still come
    clicks: int
    likes: int
    ctr: float
    ctr_low: float
    ctr_high: float
    ltr: float
    ltr_low: float
    ltr_high: float

    def __post_init__(self) -> None:
        """Rates as JSON carries them: 4 decimals."""
        for name in ("ctr", "ctr_low", "ctr_high", "ltr", "ltr_low", "ltr_high"):
            setattr(self, name, round(getattr(self, name), 4))


class Stats(msgspec.Struct, kw_only=True):
    """What the service holds, how fresh it is, and how it is used (every worker counted)."""

    main_totals: MainTotals
    main_totals_counted_at: Timestamp | None
    derived_rows: dict[str, int | None]
    users: UserCounts
    jobs: list[JobStatus]
    telemetry_available: bool
    counting_since: Timestamp | None
    cache: CacheSummary
    cache_by_kind: dict[str, CacheSummary]
    requests: list[LatencySummary]
    online: list[OnlineRate]  # most impressions first


# --- errors: every 4xx/5xx body -----------------------------------------------------------------


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid field of a request."""

    field: str | None
    message: str | None
    # "in" is a keyword in Python: the attribute is renamed, the JSON key is not.
    location: Literal["body", "path", "query"] | None = msgspec.field(default=None, name="in")


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem+json body, as every error response carries."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
