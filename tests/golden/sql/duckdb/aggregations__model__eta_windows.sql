WITH "__aligned_spine" AS MATERIALIZED (
  SELECT
    "__aligned_spine_source".*,
    ROW_NUMBER() OVER () AS "__aligned_row",
    TIMEZONE(
      'UTC',
      CAST(CASE
        WHEN TYPEOF("__aligned_spine_source"."requested_at") IN ('TIMESTAMP WITH TIME ZONE', 'VARCHAR')
        THEN CAST("__aligned_spine_source"."requested_at" AS TIMESTAMPTZ)
        ELSE TIMEZONE('UTC', CAST("__aligned_spine_source"."requested_at" AS TIMESTAMP))
      END AS TIMESTAMPTZ)
    ) AS "__aligned_time"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        driver_id,
        city,
        requested_at
      FROM requests
    ) AS "source"
  ) AS "__aligned_spine_source"
), "__aligned_v0_agg_events" AS (
  SELECT
    "driver_id",
    "city",
    "__aligned_event",
    "__aligned_of0",
    "__aligned_of1"
  FROM (
    SELECT
      "driver_id",
      "city",
      "__aligned_pit_event" AS "__aligned_event",
      "fare" AS "__aligned_of0",
      "rating" AS "__aligned_of1",
      ROW_NUMBER() OVER (
        PARTITION BY "driver_id", "city", "__aligned_pit_event"
        ORDER BY "__aligned_pit_created" DESC
      ) AS "__aligned_version"
    FROM (
      SELECT
        "row"."driver_id",
        "row"."city",
        "row"."event_at",
        "row"."loaded_at",
        "row"."fare",
        "row"."rating",
        CAST("row"."fare" / NULLIF("row"."rating", 0) AS DOUBLE) AS "fare_per_star",
        "row"."__aligned_pit_event",
        "row"."__aligned_pit_created"
      FROM (
        SELECT
          "source"."driver_id" AS "driver_id",
          "source"."city" AS "city",
          CASE
            WHEN TYPEOF("source"."event_at") IN ('TIMESTAMP WITH TIME ZONE')
            THEN CAST("source"."event_at" AS TIMESTAMPTZ)
            ELSE TIMEZONE('Europe/Oslo', CAST("source"."event_at" AS TIMESTAMP))
          END AS "event_at",
          CASE
            WHEN TYPEOF("source"."loaded_at") IN ('TIMESTAMP WITH TIME ZONE')
            THEN CAST("source"."loaded_at" AS TIMESTAMPTZ)
            ELSE TIMEZONE('Europe/Oslo', CAST("source"."loaded_at" AS TIMESTAMP))
          END AS "loaded_at",
          CAST("source"."fare" AS DOUBLE) AS "fare",
          CAST("source"."rating" AS REAL) AS "rating",
          TIMEZONE(
            'UTC',
            CAST(CASE
              WHEN TYPEOF("source"."event_at") IN ('TIMESTAMP WITH TIME ZONE')
              THEN CAST("source"."event_at" AS TIMESTAMPTZ)
              ELSE TIMEZONE('Europe/Oslo', CAST("source"."event_at" AS TIMESTAMP))
            END AS TIMESTAMPTZ)
          ) AS "__aligned_pit_event",
          TIMEZONE(
            'UTC',
            CAST(CASE
              WHEN TYPEOF("source"."loaded_at") IN ('TIMESTAMP WITH TIME ZONE')
              THEN CAST("source"."loaded_at" AS TIMESTAMPTZ)
              ELSE TIMEZONE('Europe/Oslo', CAST("source"."loaded_at" AS TIMESTAMP))
            END AS TIMESTAMPTZ)
          ) AS "__aligned_pit_created"
        FROM (
          SELECT
            *
          FROM READ_PARQUET('data/trips/*.parquet')
        ) AS "source"
      ) AS "row"
    ) AS "v"
    WHERE
      NOT "driver_id" IS NULL
      AND NOT "city" IS NULL
      AND NOT "__aligned_pit_event" IS NULL
  ) AS "d"
  WHERE
    "__aligned_version" = 1
), "__aligned_v0_agg_running_stream" AS (
  SELECT
    "driver_id",
    "city",
    "__aligned_event",
    0 AS "__aligned_kind",
    CAST(NULL AS BIGINT) AS "__aligned_row",
    1 AS "__aligned_one",
    "__aligned_of0" AS "__aligned_of0_n",
    CASE
      WHEN "__aligned_of0" IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))
      THEN NULL
      ELSE "__aligned_of0"
    END AS "__aligned_of0_s",
    CASE WHEN "__aligned_of0" = CAST('NaN' AS DOUBLE) THEN 1 END AS "__aligned_of0_nan",
    CASE WHEN "__aligned_of0" = CAST('Infinity' AS DOUBLE) THEN 1 END AS "__aligned_of0_pinf",
    CASE WHEN "__aligned_of0" = CAST('-Infinity' AS DOUBLE) THEN 1 END AS "__aligned_of0_ninf"
  FROM "__aligned_v0_agg_events"
  UNION ALL
  SELECT
    "driver_id",
    "city",
    "__aligned_time" AS "__aligned_event",
    1 AS "__aligned_kind",
    "__aligned_row",
    NULL AS "__aligned_one",
    NULL AS "__aligned_of0_n",
    NULL AS "__aligned_of0_s",
    NULL AS "__aligned_of0_nan",
    NULL AS "__aligned_of0_pinf",
    NULL AS "__aligned_of0_ninf"
  FROM "__aligned_spine"
  WHERE
    NOT "driver_id" IS NULL AND NOT "city" IS NULL AND NOT "__aligned_time" IS NULL
  UNION ALL
  SELECT
    "driver_id",
    "city",
    "__aligned_time" - TO_MICROSECONDS(604800000000) AS "__aligned_event",
    2 AS "__aligned_kind",
    "__aligned_row",
    NULL AS "__aligned_one",
    NULL AS "__aligned_of0_n",
    NULL AS "__aligned_of0_s",
    NULL AS "__aligned_of0_nan",
    NULL AS "__aligned_of0_pinf",
    NULL AS "__aligned_of0_ninf"
  FROM "__aligned_spine"
  WHERE
    NOT "driver_id" IS NULL AND NOT "city" IS NULL AND NOT "__aligned_time" IS NULL
  UNION ALL
  SELECT
    "driver_id",
    "city",
    "__aligned_time" - TO_MICROSECONDS(2592000000000) AS "__aligned_event",
    3 AS "__aligned_kind",
    "__aligned_row",
    NULL AS "__aligned_one",
    NULL AS "__aligned_of0_n",
    NULL AS "__aligned_of0_s",
    NULL AS "__aligned_of0_nan",
    NULL AS "__aligned_of0_pinf",
    NULL AS "__aligned_of0_ninf"
  FROM "__aligned_spine"
  WHERE
    NOT "driver_id" IS NULL AND NOT "city" IS NULL AND NOT "__aligned_time" IS NULL
)
SELECT
  "s".*
  EXCLUDE ("__aligned_row", "__aligned_time"),
  CASE WHEN NOT "s"."__aligned_time" IS NULL THEN "__aligned_v0"."fare" END AS "fare",
  CAST((
    COALESCE("__aligned_v0_agg_running"."__aligned_one_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_one_1", 0)
  ) AS BIGINT) AS "trips_7d",
  CASE
    WHEN (
      COALESCE("__aligned_v0_agg_running"."__aligned_of0_n_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_of0_n_2", 0)
    ) >= 1
    THEN CAST(CAST(CASE
      WHEN (
        COALESCE("__aligned_v0_agg_running"."__aligned_of0_nan_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_of0_nan_2", 0)
      ) > 0
      OR (
        (
          COALESCE("__aligned_v0_agg_running"."__aligned_of0_pinf_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_of0_pinf_2", 0)
        ) > 0
        AND (
          COALESCE("__aligned_v0_agg_running"."__aligned_of0_ninf_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_of0_ninf_2", 0)
        ) > 0
      )
      THEN CAST('NaN' AS DOUBLE)
      WHEN (
        COALESCE("__aligned_v0_agg_running"."__aligned_of0_pinf_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_of0_pinf_2", 0)
      ) > 0
      THEN CAST('Infinity' AS DOUBLE)
      WHEN (
        COALESCE("__aligned_v0_agg_running"."__aligned_of0_ninf_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_of0_ninf_2", 0)
      ) > 0
      THEN CAST('-Infinity' AS DOUBLE)
      ELSE (
        COALESCE("__aligned_v0_agg_running"."__aligned_of0_s_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_of0_s_2", 0)
      )
    END AS DOUBLE) / (
      COALESCE("__aligned_v0_agg_running"."__aligned_of0_n_0", 0) - COALESCE("__aligned_v0_agg_running"."__aligned_of0_n_2", 0)
    ) AS DOUBLE)
  END AS "fare_mean_30d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n0" >= 2
    THEN CAST("__aligned_v0_agg_range"."__aligned_a0" AS DOUBLE)
  END AS "fare_max_7d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n1" >= 1
    THEN CAST("__aligned_v0_agg_range"."__aligned_a1" AS REAL)
  END AS "last_rating"
FROM "__aligned_spine" AS "s"
LEFT JOIN (
  SELECT
    "__aligned_row",
    MAX("__aligned_one") FILTER(WHERE
      "__aligned_kind" = 1) AS "__aligned_one_0",
    MAX("__aligned_of0_n") FILTER(WHERE
      "__aligned_kind" = 1) AS "__aligned_of0_n_0",
    MAX("__aligned_of0_s") FILTER(WHERE
      "__aligned_kind" = 1) AS "__aligned_of0_s_0",
    MAX("__aligned_of0_nan") FILTER(WHERE
      "__aligned_kind" = 1) AS "__aligned_of0_nan_0",
    MAX("__aligned_of0_pinf") FILTER(WHERE
      "__aligned_kind" = 1) AS "__aligned_of0_pinf_0",
    MAX("__aligned_of0_ninf") FILTER(WHERE
      "__aligned_kind" = 1) AS "__aligned_of0_ninf_0",
    MAX("__aligned_one") FILTER(WHERE
      "__aligned_kind" = 2) AS "__aligned_one_1",
    MAX("__aligned_of0_n") FILTER(WHERE
      "__aligned_kind" = 3) AS "__aligned_of0_n_2",
    MAX("__aligned_of0_s") FILTER(WHERE
      "__aligned_kind" = 3) AS "__aligned_of0_s_2",
    MAX("__aligned_of0_nan") FILTER(WHERE
      "__aligned_kind" = 3) AS "__aligned_of0_nan_2",
    MAX("__aligned_of0_pinf") FILTER(WHERE
      "__aligned_kind" = 3) AS "__aligned_of0_pinf_2",
    MAX("__aligned_of0_ninf") FILTER(WHERE
      "__aligned_kind" = 3) AS "__aligned_of0_ninf_2"
  FROM (
    SELECT
      "__aligned_kind",
      "__aligned_row",
      COUNT("__aligned_one") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event", "__aligned_kind"
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS "__aligned_one",
      COUNT("__aligned_of0_n") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event", "__aligned_kind"
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS "__aligned_of0_n",
      SUM("__aligned_of0_s") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event", "__aligned_kind"
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS "__aligned_of0_s",
      COUNT("__aligned_of0_nan") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event", "__aligned_kind"
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS "__aligned_of0_nan",
      COUNT("__aligned_of0_pinf") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event", "__aligned_kind"
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS "__aligned_of0_pinf",
      COUNT("__aligned_of0_ninf") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event", "__aligned_kind"
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS "__aligned_of0_ninf"
    FROM "__aligned_v0_agg_running_stream"
  ) AS "r"
  WHERE
    "__aligned_kind" > 0
  GROUP BY
    "__aligned_row"
) AS "__aligned_v0_agg_running"
  ON "s"."__aligned_row" = "__aligned_v0_agg_running"."__aligned_row"
LEFT JOIN (
  SELECT
    "s"."__aligned_row",
    MAX("e"."__aligned_of0") FILTER(WHERE
      "e"."__aligned_event" > "s"."__aligned_time" - TO_MICROSECONDS(604800000000)) AS "__aligned_a0",
    COUNT("e"."__aligned_of0") FILTER(WHERE
      "e"."__aligned_event" > "s"."__aligned_time" - TO_MICROSECONDS(604800000000)) AS "__aligned_n0",
    ARG_MAX("e"."__aligned_of1", "e"."__aligned_event") FILTER(WHERE
      NOT "e"."__aligned_of1" IS NULL) AS "__aligned_a1",
    COUNT("e"."__aligned_of1") AS "__aligned_n1"
  FROM "__aligned_spine" AS "s"
  JOIN "__aligned_v0_agg_events" AS "e"
    ON "s"."driver_id" = "e"."driver_id"
    AND "s"."city" = "e"."city"
    AND "e"."__aligned_event" > "s"."__aligned_time" - TO_MICROSECONDS(2592000000000)
    AND "e"."__aligned_event" <= "s"."__aligned_time"
  GROUP BY
    "s"."__aligned_row"
) AS "__aligned_v0_agg_range"
  ON "s"."__aligned_row" = "__aligned_v0_agg_range"."__aligned_row"
ASOF LEFT JOIN (
  SELECT
    "driver_id",
    "city",
    "fare",
    {'t': "__aligned_pit_event", 'c': COALESCE("__aligned_pit_created", CAST('-infinity' AS TIMESTAMP))} AS "__aligned_key"
  FROM (
    SELECT
      "row"."driver_id",
      "row"."city",
      "row"."event_at",
      "row"."loaded_at",
      "row"."fare",
      "row"."rating",
      CAST("row"."fare" / NULLIF("row"."rating", 0) AS DOUBLE) AS "fare_per_star",
      "row"."__aligned_pit_event",
      "row"."__aligned_pit_created"
    FROM (
      SELECT
        "source"."driver_id" AS "driver_id",
        "source"."city" AS "city",
        CASE
          WHEN TYPEOF("source"."event_at") IN ('TIMESTAMP WITH TIME ZONE')
          THEN CAST("source"."event_at" AS TIMESTAMPTZ)
          ELSE TIMEZONE('Europe/Oslo', CAST("source"."event_at" AS TIMESTAMP))
        END AS "event_at",
        CASE
          WHEN TYPEOF("source"."loaded_at") IN ('TIMESTAMP WITH TIME ZONE')
          THEN CAST("source"."loaded_at" AS TIMESTAMPTZ)
          ELSE TIMEZONE('Europe/Oslo', CAST("source"."loaded_at" AS TIMESTAMP))
        END AS "loaded_at",
        CAST("source"."fare" AS DOUBLE) AS "fare",
        CAST("source"."rating" AS REAL) AS "rating",
        TIMEZONE(
          'UTC',
          CAST(CASE
            WHEN TYPEOF("source"."event_at") IN ('TIMESTAMP WITH TIME ZONE')
            THEN CAST("source"."event_at" AS TIMESTAMPTZ)
            ELSE TIMEZONE('Europe/Oslo', CAST("source"."event_at" AS TIMESTAMP))
          END AS TIMESTAMPTZ)
        ) AS "__aligned_pit_event",
        TIMEZONE(
          'UTC',
          CAST(CASE
            WHEN TYPEOF("source"."loaded_at") IN ('TIMESTAMP WITH TIME ZONE')
            THEN CAST("source"."loaded_at" AS TIMESTAMPTZ)
            ELSE TIMEZONE('Europe/Oslo', CAST("source"."loaded_at" AS TIMESTAMP))
          END AS TIMESTAMPTZ)
        ) AS "__aligned_pit_created"
      FROM (
        SELECT
          *
        FROM READ_PARQUET('data/trips/*.parquet')
      ) AS "source"
    ) AS "row"
  ) AS "v"
  WHERE
    NOT "__aligned_pit_event" IS NULL
) AS "__aligned_v0"
  ON "s"."driver_id" = "__aligned_v0"."driver_id"
  AND "s"."city" = "__aligned_v0"."city"
  AND {'t': COALESCE("s"."__aligned_time", CAST('-infinity' AS TIMESTAMP)), 'c': CAST('infinity' AS TIMESTAMP)} >= "__aligned_v0"."__aligned_key"
ORDER BY
  "s"."__aligned_row"
