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
), "__aligned_v0_agg_framed_stream" AS (
  SELECT
    "driver_id",
    "city",
    "__aligned_event",
    CAST(NULL AS BIGINT) AS "__aligned_row",
    1 AS "__aligned_one",
    "__aligned_of0"
  FROM "__aligned_v0_agg_events"
  UNION ALL
  SELECT
    "driver_id",
    "city",
    "__aligned_time" AS "__aligned_event",
    "__aligned_row",
    NULL AS "__aligned_one",
    NULL AS "__aligned_of0"
  FROM "__aligned_spine"
  WHERE
    NOT "driver_id" IS NULL AND NOT "city" IS NULL AND NOT "__aligned_time" IS NULL
)
SELECT
  "s".*
  EXCLUDE ("__aligned_row", "__aligned_time"),
  CASE WHEN NOT "s"."__aligned_time" IS NULL THEN "__aligned_v0"."fare" END AS "fare",
  COALESCE(CAST("__aligned_v0_agg_framed"."__aligned_a0" AS BIGINT), 0) AS "trips_7d",
  CASE
    WHEN "__aligned_v0_agg_framed"."__aligned_n1" >= 1
    THEN CAST("__aligned_v0_agg_framed"."__aligned_a1" AS DOUBLE)
  END AS "fare_mean_30d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n0" >= 2
    THEN CAST("__aligned_v0_agg_range"."__aligned_a0" AS DOUBLE)
  END AS "fare_max_7d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n1" >= 1
    THEN CAST("__aligned_v0_agg_range"."__aligned_a1" AS REAL)
  END AS "last_rating",
  CASE
    WHEN "__aligned_v0_agg_framed"."__aligned_n2" >= 1
    THEN CAST("__aligned_v0_agg_framed"."__aligned_a2" AS DOUBLE)
  END AS "fare_sum_90d"
FROM "__aligned_spine" AS "s"
LEFT JOIN (
  SELECT
    *
  FROM (
    SELECT
      "__aligned_row",
      COUNT("__aligned_one") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event"
        RANGE BETWEEN TO_MICROSECONDS(604799999999) PRECEDING AND CURRENT ROW
      ) AS "__aligned_a0",
      AVG(CAST("__aligned_of0" AS DOUBLE)) OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event"
        RANGE BETWEEN TO_MICROSECONDS(2591999999999) PRECEDING AND CURRENT ROW
      ) AS "__aligned_a1",
      COUNT("__aligned_of0") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event"
        RANGE BETWEEN TO_MICROSECONDS(2591999999999) PRECEDING AND CURRENT ROW
      ) AS "__aligned_n1",
      SUM("__aligned_of0") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event"
        RANGE BETWEEN TO_MICROSECONDS(7775999999999) PRECEDING AND CURRENT ROW
      ) AS "__aligned_a2",
      COUNT("__aligned_of0") OVER (
        PARTITION BY "driver_id", "city"
        ORDER BY "__aligned_event"
        RANGE BETWEEN TO_MICROSECONDS(7775999999999) PRECEDING AND CURRENT ROW
      ) AS "__aligned_n2"
    FROM "__aligned_v0_agg_framed_stream"
  ) AS "w"
  WHERE
    NOT "__aligned_row" IS NULL
) AS "__aligned_v0_agg_framed"
  ON "s"."__aligned_row" = "__aligned_v0_agg_framed"."__aligned_row"
LEFT JOIN (
  SELECT
    "s"."__aligned_row",
    MAX("e"."__aligned_of0") FILTER(WHERE
      "e"."__aligned_event" > "s"."__aligned_time" - TO_MICROSECONDS(604800000000)) AS "__aligned_a0",
    COUNT("e"."__aligned_of0") FILTER(WHERE
      "e"."__aligned_event" > "s"."__aligned_time" - TO_MICROSECONDS(604800000000)) AS "__aligned_n0",
    CASE
      WHEN MAX("e"."__aligned_event") FILTER(WHERE
        NOT "e"."__aligned_of1" IS NULL) = MAX("e"."__aligned_event")
      THEN ARG_MAX("e"."__aligned_of1", "e"."__aligned_event") FILTER(WHERE
        NOT "e"."__aligned_of1" IS NULL)
    END AS "__aligned_a1",
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
